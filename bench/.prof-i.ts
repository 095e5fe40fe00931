import { benchFlow, runBench } from "./sections/runner";
const bench = benchFlow("chain", 10000);
for (let i = 0; i < 150; i++) await runBench(bench);
