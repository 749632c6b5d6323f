import {NetctlCommand} from '../cli/base-command.js'

export default class Version extends NetctlCommand {
  static override summary = 'Show the versions of netctl and what it runs on.'
  static override enableJsonFlag = true

  async run(): Promise<Record<string, string>> {
    await this.parse(Version)
    const info = {
      clientVersion: this.config.version,
      nodeVersion: process.version,
      platform: `${process.platform}/${process.arch}`,
    }
    this.log(`Client Version:    v${info.clientVersion}`)
    this.log(`Node.js Version:   ${info.nodeVersion}`)
    this.log(`Platform:          ${info.platform}`)
    return info
  }
}
