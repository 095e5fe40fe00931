/**
 * The Lambda runtime every flow bundle imports: one module, so a bundle built from the package
 * shares its code (one copy of the core) with the user's `import "flowhooks"`.
 */
export { createTaskHandler, selectFlow } from "./task/index";
export { createEventsHandler, createReconcileHandler } from "./handler/index";
export { createInteractHandler } from "./interact/index";
