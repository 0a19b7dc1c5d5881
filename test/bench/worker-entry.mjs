// Worker threads do not inherit the tsx loader of the main thread; register it, then load the TS worker.
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.module);
