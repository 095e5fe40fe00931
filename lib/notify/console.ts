/** The console: a readable one- or two-line alert on stdout, for local runs and the examples. */
import type { StateHandler } from "../core/handlers";
import type { Alert, AlertChannel } from "./alert";
import { formatConsoleAlert } from "./format";
import { channelNotifier, checkNotifierOptions, type ChannelNotifierOptions } from "./notifier";

export interface ConsoleChannelOptions {
  /** Where lines go (each call is one alert, without a trailing newline). @default - process.stdout */
  write?: (text: string) => void;
  /** Longest detail line before it is cut with a marker. @default 500 */
  maxDetailChars?: number;
}

export type ConsoleNotifierOptions = ConsoleChannelOptions & ChannelNotifierOptions;

/** A channel that prints alerts. */
export function consoleChannel(options: ConsoleChannelOptions = {}): AlertChannel {
  const write = options.write ?? ((text: string) => void process.stdout.write(`${text}\n`));
  if (typeof write !== "function") throw new TypeError("consoleChannel: `write` must be a function (text) => void.");
  const maxChars = options.maxDetailChars ?? 500;
  return {
    name: "console",
    async send(alert: Alert): Promise<void> {
      write(formatConsoleAlert(alert, maxChars));
    },
  };
}

/** A state handler that prints an alert for every finished or retrying state (or those selected). */
export function consoleNotifier(options: ConsoleNotifierOptions = {}): StateHandler {
  checkNotifierOptions(options, "consoleNotifier");
  return channelNotifier(consoleChannel(options), options, "consoleNotifier");
}
