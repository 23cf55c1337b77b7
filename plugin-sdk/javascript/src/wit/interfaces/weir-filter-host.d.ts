declare module 'weir:filter/host@0.2.0' {
  /**
   * Writes a message to Weir's log, tagged with the filter's name.
   * 
   * Messages are rate-limited; long messages are truncated.
   */
  export function log(level: Level, message: string): void;
  /**
   * Severity of a log message.
   * # Variants
   * 
   * ## `"trace"`
   * 
   * ## `"debug"`
   * 
   * ## `"info"`
   * 
   * ## `"warn"`
   * 
   * ## `"error"`
   */
  export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
}
