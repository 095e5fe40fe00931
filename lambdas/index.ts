/**
 * lambdas/: the Lambda entry points, thin. This module is the runtime every flow bundle imports: one
 * module, so a bundle built from the package shares its code (one copy of the core) with the user's
 * `import "flowhooks"`. Reading order for a newcomer:
 *  task/ (every task function): index.ts (`createTaskHandler`) → env.ts → payload.ts (the contract
 *    with the state machine) → run.ts (one invocation) → attempt.ts (one attempt through the
 *    engine's `runTaskAttempt`) → map.ts (a mapped task's prepare, child, collect) → emit.ts (task events).
 *  handler/ (events → chains → alerts): index.ts (`createEventsHandler`, `createReconcileHandler`)
 *    → env.ts → process.ts (one event: claims, chains, alerts) → deliver.ts (each send at most once)
 *    → digest-records.ts (flushes, dead-letter notices) → crashed-children.ts.
 *  interact/ (Slack's Approve/Reject clicks, a function URL): index.ts (`createInteractHandler`) →
 *    env.ts → approvals.ts (the approval store it answers through); the logic is lib/aws/slack-interact.ts.
 * They import nothing of each other: what both need is in lib/aws (result stores, state names),
 * lib/notify or lib/core.
 */
export { createTaskHandler, selectFlow } from "./task/index";
export { createEventsHandler, createReconcileHandler } from "./handler/index";
export { createInteractHandler } from "./interact/index";
