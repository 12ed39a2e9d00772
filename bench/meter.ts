/** What a benchmarked process measures about itself, and the messages bench/run.ts exchanges with it. */

export interface Stats {
  requests: number;
  statements: number;
  /** Sum of statement durations as the database client sees them (round trip and pool wait included). */
  dbMs: number;
  cpuMs: number;
  /** The part of cpuMs spent in the kernel (system calls: sockets, memory). */
  sysMs?: number;
  peakRssMb: number;
}

export interface Seeded {
  url: string;
  owner: string;
  invitee: string;
  /** Organization global ids by number of invitations. */
  organizations: Record<number, string>;
  /** The organization C (createInvitation) writes into. */
  forWrites: string;
  database: "pglite" | "postgres";
}

export type BenchMessage =
  | { type: "ready"; seeded: Seeded }
  | { type: "ready-ceiling"; url: string }
  | { type: "ready-peer"; url: string }
  | { type: "reset" }
  | { type: "stats"; stats?: Stats }
  | { type: "stop" };

export class Meter {
  private requests = 0;
  private statements = 0;
  private dbMs = 0;
  private cpu = process.cpuUsage();
  private peakRss = process.memoryUsage.rss();
  private readonly sampler: NodeJS.Timeout;

  constructor() {
    this.sampler = setInterval(() => {
      this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
    }, 50);
    this.sampler.unref();
  }

  request(): void {
    this.requests += 1;
  }

  statement(ms: number): void {
    this.statements += 1;
    this.dbMs += ms;
  }

  reset(): void {
    this.requests = 0;
    this.statements = 0;
    this.dbMs = 0;
    this.cpu = process.cpuUsage();
    this.peakRss = process.memoryUsage.rss();
  }

  read(): Stats {
    const cpu = process.cpuUsage(this.cpu);
    return {
      requests: this.requests,
      statements: this.statements,
      dbMs: this.dbMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      sysMs: cpu.system / 1000,
      peakRssMb: Math.round(Math.max(this.peakRss, process.memoryUsage.rss()) / 1048576),
    };
  }
}
