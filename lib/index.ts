/** The public API of flowhooks (see API.md). CDK constructs live in `flowhooks/cdk`. */
export * from "./core/index";
export * from "./notify/index";
// Loading lib/aws gives the notifiers their AWS adapters (lib/notify/ports.ts).
export { secrets, createSecrets, type Secrets, type SecretsOptions } from "./aws/index";
