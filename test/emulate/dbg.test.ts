import { it } from "vitest";
import { emulate } from "../../lib/emulate/index";
import { fixtureTarget } from "./helpers";
it("dbg", async () => {
  for (const approve of [() => "no" as const, () => new Promise<true>(() => undefined)]) {
  const r = await emulate({ target: await fixtureTarget("approval"), approve, write: () => undefined });
  console.log(r.alerts.map((a) => `${a.channel} ${a.alert.kind} ${a.alert.task} ${String(a.alert.newState)}`), r.transitions.filter(t=>t.name!=="build").map((t) => `${t.name} ${t.oldState.name}->${t.newState.name}`));
  }
}, 60000);
