/**
 * What the runner's 10,000-task chain (section 1) spends its CPU on:
 * `node_modules/.bin/node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile-chain.ts`,
 * then open the .cpuprofile in Chrome DevTools (or sum self time per frame). 150 runs, so module
 * loading is a small share of the profile.
 */
import { benchFlow, runBench } from "./sections/runner";

const bench = benchFlow("chain", 10_000);
for (let i = 0; i < 150; i++) await runBench(bench);
