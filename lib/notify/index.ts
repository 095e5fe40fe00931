export type { Alert, AlertChannel } from "./alert";
