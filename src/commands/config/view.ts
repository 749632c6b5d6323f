import {Flags} from '@oclif/core'

import {NetctlCommand} from '../../cli/base-command.js'
import {formatColumns, toJson, toYaml} from '../../cli/output.js'
import type {ConfigField, ConfigSetting} from '../../datastore/config.js'
import {redactEndpoints} from '../../datastore/redact.js'

/** Secrets are masked; so are credentials inside endpoint URLs (http://user:pw@host). */
const shown = (field: ConfigField, s: ConfigSetting): ConfigSetting =>
  s.secret ? {...s, value: '********'} : field === 'etcdEndpoints' ? {...s, value: redactEndpoints(s.value)} : s

export default class ConfigView extends NetctlCommand {
  static override summary = 'Show the effective datastore settings and where each came from.'
  static override description = 'Flags win over environment variables, which win over the config file. Secrets are masked.'
  static override enableJsonFlag = true
  static override flags = {
    output: Flags.option({char: 'o', options: ['table', 'yaml', 'json'] as const, default: 'table' as const, summary: 'Output format.'})(),
  }

  async run(): Promise<{configFile?: string; settings: Record<string, ConfigSetting>}> {
    const {flags} = await this.parse(ConfigView)
    const resolved = await this.resolveConfig(flags)
    const settings = Object.fromEntries(Object.entries(resolved.settings).map(([field, s]) => [field, shown(field as ConfigField, s)]))
    const view = {configFile: resolved.file, settings}
    if (flags.output === 'yaml') this.log(await toYaml(view))
    else if (flags.output === 'json') this.log(toJson(view))
    else {
      this.log(formatColumns([['SETTING', 'VALUE', 'SOURCE'], ...Object.entries(settings).map(([field, s]) => [field, s.value, s.source])]))
      this.log(`\nConfig file: ${resolved.file ?? 'none found'}`)
    }
    return view
  }
}
