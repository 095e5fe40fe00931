/** The public API of flowhooks (see API.md). CDK constructs live in `flowhooks/cdk`. */
export * from "./core/index";
export * from "./notify/index";
