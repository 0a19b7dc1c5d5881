import { driverContract } from "./driverContract.ts";
import { onvifHarness, pushHarness } from "./harnesses.ts";

driverContract("HTTP push camera (Dahua ITSAPI)", () => pushHarness("dahua-itsapi-anpr"));
driverContract("HTTP push camera (Hikvision ISAPI)", () => pushHarness("hikvision-isapi-anpr"));
driverContract("ONVIF camera (PullPoint)", onvifHarness);
