/**
 * The AWS SDK client modules flowhooks uses, each loaded on first call and cached. Loading a client
 * module costs 30–120 ms; a static import would pay that in every Lambda's init, including task
 * functions that never call AWS, so only the call that needs AWS pays it, once per container.
 * Types come from `import type`, which costs nothing at run time.
 */

/** One promise per module; a failed load is forgotten so the next call tries again. */
function cached<T>(load: () => Promise<T>): () => Promise<T> {
  let module: Promise<T> | undefined;
  return () => {
    if (!module) {
      module = load();
      module.catch(() => {
        module = undefined;
      });
    }
    return module;
  };
}

export const loadSfn = cached(() => import("@aws-sdk/client-sfn"));
export const loadSns = cached(() => import("@aws-sdk/client-sns"));
export const loadDynamoDb = cached(() => import("@aws-sdk/client-dynamodb"));
export const loadEventBridge = cached(() => import("@aws-sdk/client-eventbridge"));
export const loadSecretsManager = cached(() => import("@aws-sdk/client-secrets-manager"));
export const loadSsm = cached(() => import("@aws-sdk/client-ssm"));
export const loadSqs = cached(() => import("@aws-sdk/client-sqs"));
export const loadS3 = cached(() => import("@aws-sdk/client-s3"));
