import {writeCommand} from '../cli/write-command.js'

export default writeCommand('replace')
