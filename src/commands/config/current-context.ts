import {NetctlCommand} from '../../cli/base-command.js'

export default class ConfigCurrentContext extends NetctlCommand {
  static override summary = 'Print the context plain netctl commands use: default, lab/NAME, or the kubeconfig context on the Kubernetes datastore.'
  static override examples = ['<%= config.bin %> config current-context', 'KUBECONFIG=~/.kube/config <%= config.bin %> config current-context --datastore kubernetes']

  async run(): Promise<{context: string}> {
    const {flags} = await this.parse(ConfigCurrentContext)
    const {contextInUse} = await import('../../datastore/kubeconfig.js')
    const context = await contextInUse(await this.resolveConfig(flags))
    this.log(context)
    return {context}
  }
}
