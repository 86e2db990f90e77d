/**
 * A reefer's box temperature: it settles on the setpoint with a little sensor noise
 * while the door is shut, and drifts towards the outside air while it is open
 * (first-order lag, time constants in simulated minutes).
 */
export class Reefer {
  temperature: number;
  doorOpen = false;

  constructor(
    readonly setpoint: number,
    private readonly outside = 14,
  ) {
    this.temperature = setpoint + (Math.random() - 0.5);
  }

  /** Advances by `minutes` of simulated time; returns the reading (0.01 °C). */
  step(minutes: number): number {
    const target = this.doorOpen ? this.outside : this.setpoint;
    const tau = this.doorOpen ? 20 : 8;
    this.temperature += (target - this.temperature) * (1 - Math.exp(-minutes / tau));
    const noise = (Math.random() - 0.5) * 0.6;
    return Math.round((this.temperature + noise) * 100) / 100;
  }
}
