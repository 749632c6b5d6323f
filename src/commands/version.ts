import {Flags} from '@oclif/core'

import {NetctlCommand} from '../cli/base-command.js'

interface VersionInfo {
  clientVersion: string
  /** The Calico release whose resources netctl reads and writes. */
  calicoVersion: string
  nodeVersion: string
  platform: string
  /** ClusterInformation's calicoVersion and clusterType; absent when no cluster was asked or none answered. */
  clusterVersion?: string
  clusterType?: string
  versionMismatch?: boolean
}

export default class Version extends NetctlCommand {
  static override summary = 'Show the versions of netctl, what it runs on, and the cluster\'s Calico version (like calicoctl version).'
  static override description = 'The cluster\'s version and type come from ClusterInformation "default" of the configured datastore. When the cluster runs another Calico release than the one netctl speaks, a warning says so; as with calicoctl, version never fails for it.'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --client', '<%= config.bin %> version --datastore kubernetes --json']
  static override enableJsonFlag = true
  static override flags = {
    client: Flags.boolean({summary: 'Display only the client version.'}),
  }

  async run(): Promise<VersionInfo> {
    const {flags} = await this.parse(Version)
    const {calicoVersion} = await import('../resources/felixconfiguration.js')
    const info: VersionInfo = {
      clientVersion: this.config.version,
      calicoVersion,
      nodeVersion: process.version,
      platform: `${process.platform}/${process.arch}`,
    }
    this.log(`Client Version:    v${info.clientVersion}`)
    this.log(`Calico API:        ${info.calicoVersion}`)
    this.log(`Node.js Version:   ${info.nodeVersion}`)
    this.log(`Platform:          ${info.platform}`)
    if (flags.client) return info

    const {readClusterInformation, versionMismatch} = await import('../services/migrate.js')
    let cluster
    try {
      cluster = await readClusterInformation(await this.datastore(flags))
    } catch (error) {
      if (flags.debug) this.logToStderr(String((error as Error).stack ?? error))
    }
    if (!cluster) {
      this.log('Unable to detect installed Calico version')
      return info
    }
    const spec = (cluster.spec ?? {}) as Record<string, unknown>
    info.clusterVersion = typeof spec.calicoVersion === 'string' && spec.calicoVersion ? spec.calicoVersion : 'unknown'
    info.clusterType = typeof spec.clusterType === 'string' && spec.clusterType ? spec.clusterType : 'unknown'
    this.log(`Cluster Version:   ${info.clusterVersion}`)
    this.log(`Cluster Type:      ${info.clusterType}`)
    const mismatch = versionMismatch(cluster)
    info.versionMismatch = mismatch !== undefined
    if (mismatch !== undefined && !flags['allow-version-mismatch']) {
      this.logToStderr(`Warning: version mismatch: the cluster runs Calico ${mismatch}, netctl speaks ${calicoVersion}; fields one release has and the other lacks may not round-trip (--allow-version-mismatch silences this)`)
    }
    return info
  }
}
