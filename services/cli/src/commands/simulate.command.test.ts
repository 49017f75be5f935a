import { describe, expect, it } from 'vitest';
import { runSimulate, simulatorConfigFromOptions, type SimulateOptions } from './simulate.command.ts';

const opts = (o: Partial<SimulateOptions> = {}): SimulateOptions => ({
  regions: '16',
  seed: '1',
  port: '0',
  host: '127.0.0.1',
  delays: true,
  ...o,
});

describe('pksync simulate', () => {
  it('names each bad option', () => {
    expect(() => simulatorConfigFromOptions(opts({ port: '70000' }))).toThrow(
      /--port must be an integer from 0 to 65535/,
    );
    expect(() => simulatorConfigFromOptions(opts({ seed: 'abc' }))).toThrow(/--seed/);
    expect(() => simulatorConfigFromOptions(opts({ scale: '-1' }))).toThrow(/--scale/);
    expect(() => simulatorConfigFromOptions(opts({ day: '1.5' }))).toThrow(/--day/);
    expect(() => simulatorConfigFromOptions(opts({ defectRate: '2' }))).toThrow(/--defect-rate/);
    expect(simulatorConfigFromOptions(opts({ scale: '2', day: '3', delays: false }))).toMatchObject({
      scale: 2,
      day: 3,
      delays: false,
      regions: '16',
    });
  });

  it('rejects an unknown region', async () => {
    await expect(runSimulate(opts({ regions: '99' }))).rejects.toThrow(/unknown region "99"/);
  });
});
