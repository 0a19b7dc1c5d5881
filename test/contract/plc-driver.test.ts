import { driverContract } from "./driverContract.ts";
import { plcHarness } from "./harnesses.ts";

driverContract("OPC UA lane PLC", plcHarness);
