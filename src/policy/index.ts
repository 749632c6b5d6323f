/** The policy evaluator: build a world once, then explain, selects and evaluate against it. */
export {buildWorld, type World, type WorldInput, type PolicyEntry, type TierEntry} from './world.js'
export {explain, selects, evaluate, type Flow, type FlowEnd, type FlowVerdict, type Explanation, type Selection, type DirectionResult, type Decision, type EndpointRef, type PolicyRef} from './evaluate.js'
