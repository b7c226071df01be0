// JSON logs through pino; everything else takes child loggers (`log.child({ videojob })`).
import { pino } from "pino";

export function createLogger(level: string) {
  return pino({ level, base: { component: "reel-operator" }, timestamp: pino.stdTimeFunctions.isoTime });
}
