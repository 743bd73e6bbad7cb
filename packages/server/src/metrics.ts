/** Operational counters, rendered as Prometheus text at `GET /metrics`. */
export class Metrics {
  connections = 0;
  connectionsTotal = 0;
  authFailures = 0;
  pulls = 0;
  pushes = 0;
  messages = 0;
  rateLimited = 0;
  readonly errorsByCode = new Map<number, number>();

  error(code: number): void {
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
  }

  render(): string {
    const lines = [
      '# HELP convsync_connections Open sessions (sockets and in-process).',
      '# TYPE convsync_connections gauge',
      `convsync_connections ${this.connections}`,
      '# HELP convsync_connections_total Sessions opened since start.',
      '# TYPE convsync_connections_total counter',
      `convsync_connections_total ${this.connectionsTotal}`,
      '# HELP convsync_auth_failures_total Handshakes refused.',
      '# TYPE convsync_auth_failures_total counter',
      `convsync_auth_failures_total ${this.authFailures}`,
      '# HELP convsync_pulls_total Pull requests answered.',
      '# TYPE convsync_pulls_total counter',
      `convsync_pulls_total ${this.pulls}`,
      '# HELP convsync_pushes_total Push requests answered.',
      '# TYPE convsync_pushes_total counter',
      `convsync_pushes_total ${this.pushes}`,
      '# HELP convsync_messages_total Messages stored.',
      '# TYPE convsync_messages_total counter',
      `convsync_messages_total ${this.messages}`,
      '# HELP convsync_rate_limited_total Requests refused by the rate limit.',
      '# TYPE convsync_rate_limited_total counter',
      `convsync_rate_limited_total ${this.rateLimited}`,
      '# HELP convsync_errors_total Requests answered with an error, by code.',
      '# TYPE convsync_errors_total counter',
    ];
    for (const [code, count] of [...this.errorsByCode].sort((a, b) => a[0] - b[0])) {
      lines.push(`convsync_errors_total{code="${code}"} ${count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
