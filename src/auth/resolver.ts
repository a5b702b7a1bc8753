// The deployment's scheme: a verified bearer JWT when authentication is configured, else the X-User-Id header.
import type { AuthConfig } from "../config";
import { bearerCallerResolver } from "./bearer";
import type { CallerResolver } from "./caller";
import { callerFromHeader } from "./header";

export const callerResolverFor = (auth: AuthConfig): CallerResolver =>
  auth.mode === "header" ? callerFromHeader : bearerCallerResolver(auth);
