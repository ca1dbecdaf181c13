import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs. Tokens and keys never reach a line: authorization headers and anything named
 * like a secret are redacted even if a caller passes them by mistake.
 */
export function createLogger(level: string, name = "watchfloor", destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "authorization",
        "*.authorization",
        "headers.authorization",
        "*.headers.authorization",
        "token",
        "*.token",
        "password",
        "*.password",
        "privateKey",
        "*.privateKey",
        "connectionParams",
        "*.connectionParams",
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
