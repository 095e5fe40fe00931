import { it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { formatConsoleAlert, formatEmailText } from "../../lib/notify/format";
import { fixtureTarget } from "./helpers";
it("dbg", async () => {
  const r = await emulate({ target: await fixtureTarget("approval"), approve: () => true, write: () => undefined });
  for (const a of r.alerts) console.log(a.channel, formatEmailText(a.alert), "\n---\n", formatConsoleAlert(a.alert));
}, 60000);
