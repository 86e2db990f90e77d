/**
 * One simulated truck: a dispatcher creates and assigns its order, the driver accepts,
 * loads, drives the route and delivers, and on the way the phone posts a GPS point and
 * the reefer's logger a temperature reading every tick. Then the truck drives back with
 * a new load, until the simulator stops.
 *
 * Time: movement and the reefer's temperature run on compressed (simulated) time, but
 * every reading and fix carries the real clock, as a device would: the API refuses
 * times more than 5 minutes ahead, and attaches readings to the dispatch by time. So
 * the door-open truck keeps its door open for a real SIMULATE_DOOR_OPEN_SECONDS (the
 * excursion rules count real seconds on the device's clock).
 */
import { HttpError, sleep, type Auth, type Http } from './http.js';
import { Reefer } from './reefer.js';
import { positionAt, reversed, routeLengthKm, type Route } from './routes.js';

export const SIM_MARKER = 'UVIS 시뮬레이터 · simulator';

export interface TruckPlan {
  email: string;
  password: string;
  driverId: number;
  vehicleId: number;
  plate: string;
  route: Route;
  cargo: 'CHILLED' | 'FROZEN';
  setpoint: number;
  /** The profile's upper limit (°C), for the log lines. */
  maxC: number;
  weight: number;
  /** Leaves the door open at a rest stop on its first trip. */
  doorIncident: boolean;
  /** Posts temperatures as a vehicle gateway (an API key) instead of the driver's phone. */
  gateway: boolean;
}

export interface SimSettings {
  speed: number;
  tickMs: number;
  doorOpenSeconds: number;
  doorOpenSimMinutes: number;
  kmh: number;
}

export interface TruckStats {
  trips: number;
  gpsPoints: number;
  readings: number;
  peakC: number;
  dispatchIds: number[];
}

type Phase = 'loading' | 'driving' | 'door' | 'unloading';

export class Truck {
  readonly stats: TruckStats = { trips: 0, gpsPoints: 0, readings: 0, peakC: -Infinity, dispatchIds: [] };
  private driver: Auth = {};
  private gatewayKey?: { id: number; key: string };
  private readonly reefer: Reefer;
  private door = { done: false, openedAt: 0, simMinutes: 0 };

  constructor(
    private readonly plan: TruckPlan,
    private readonly http: Http,
    private readonly staff: { dispatcher: Auth; admin: Auth },
    private readonly settings: SimSettings,
    private readonly signal: AbortSignal,
    private readonly log: (line: string) => void,
  ) {
    this.reefer = new Reefer(plan.setpoint);
  }

  private say(line: string) {
    this.log(`[${this.plan.plate}] ${line}`);
  }

  /** Signs in, clears what a previous run left, then drives trips until stopped. */
  async run(): Promise<void> {
    this.driver = { token: await this.http.login(this.plan.email, this.plan.password) };
    if (!(await this.clearLeftovers())) return;
    if (this.plan.gateway) {
      const key = await this.http.request<{ id: number; key: string }>('POST', '/api/v1/admin/api-keys', this.staff.admin, {
        name: `시뮬레이터 게이트웨이 ${this.plan.plate}`,
        vehicle_id: this.plan.vehicleId,
      });
      this.gatewayKey = { id: key.id, key: key.key };
      this.say(`게이트웨이 키 발급 · gateway API key ${key.id} created for vehicle ${this.plan.vehicleId}`);
    }
    let route = this.plan.route;
    try {
      while (!this.signal.aborted) {
        await this.trip(route);
        route = reversed(route);
      }
    } finally {
      if (this.gatewayKey) {
        await this.http.request('DELETE', `/api/v1/admin/api-keys/${this.gatewayKey.id}`, this.staff.admin).catch(() => undefined);
        this.say(`게이트웨이 키 폐기 · gateway key ${this.gatewayKey.id} revoked`);
      }
    }
  }

  /** A dispatch left active by an earlier run: finished if delivered, failed otherwise. Another dispatch: the truck sits out. */
  private async clearLeftovers(): Promise<boolean> {
    const active = await this.http.request<{ id: number; status: string; order: { id: number } }[]>('GET', '/api/v1/mobile/dispatches', this.driver);
    for (const d of active) {
      const order = await this.http.request<{ notes?: string | null }>('GET', `/api/v1/orders/${d.order.id}`, this.staff.dispatcher);
      if (order.notes !== SIM_MARKER) {
        this.say(`기사가 다른 배차(${d.id}) 중이라 쉽니다 · driver is busy on dispatch ${d.id}, not simulated`);
        return false;
      }
      if (d.status === 'DELIVERED') await this.complete(d.id);
      else {
        await this.status(d.id, 'FAILED', '시뮬레이터 재시작 · simulator restarted');
        this.say(`이전 실행의 배차 ${d.id} 실패 처리 · dispatch ${d.id} of an earlier run marked FAILED`);
      }
    }
    return !this.signal.aborted;
  }

  private status(id: number, status: string, note?: string) {
    return this.http.request('PUT', `/api/v1/mobile/dispatches/${id}/status`, this.driver, note ? { status, note } : { status });
  }

  /** COMPLETED, or waits while the completion gate refuses (an excursion without a corrective action). */
  private async complete(id: number): Promise<void> {
    let told = false;
    while (!this.signal.aborted) {
      try {
        await this.status(id, 'COMPLETED');
        this.say(`배차 ${id} 완료 · dispatch ${id} COMPLETED`);
        return;
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 409) throw err;
        if (!told) {
          this.say(
            `배차 ${id} 완료 보류: 온도 이탈 조치가 필요합니다 (대시보드에서 조치 기록) · completion refused (${err.body.error}): record a corrective action in the dashboard; retrying`,
          );
          told = true;
        }
        await sleep(10_000, this.signal);
      }
    }
  }

  private async trip(route: Route): Promise<void> {
    const order = await this.http.request<{ id: number }>('POST', '/api/v1/orders', this.staff.dispatcher, {
      client_id: 1,
      pickup_address: route.pickupAddress,
      delivery_address: route.deliveryAddress,
      pickup_lat: route.waypoints[0]!.lat,
      pickup_lng: route.waypoints[0]!.lng,
      delivery_lat: route.waypoints.at(-1)!.lat,
      delivery_lng: route.waypoints.at(-1)!.lng,
      cargo_type: this.plan.cargo,
      weight: this.plan.weight,
      notes: SIM_MARKER,
    });
    const dispatch = await this.http.request<{ id: number }>('POST', '/api/v1/dispatches', this.staff.dispatcher, {
      order_id: order.id,
      vehicle_id: this.plan.vehicleId,
      driver_id: this.plan.driverId,
    });
    this.stats.dispatchIds.push(dispatch.id);
    const km = routeLengthKm(route);
    const cargo = this.plan.cargo === 'FROZEN' ? '냉동' : '냉장';
    this.say(`주문 ${order.id} · 배차 ${dispatch.id}: ${route.name}, ${cargo} ${this.plan.weight} kg, ${km.toFixed(0)} km (order, dispatch assigned)`);
    await this.status(dispatch.id, 'ACCEPTED');

    const { speed, tickMs, kmh } = this.settings;
    const tickMinutes = (speed * tickMs) / 60_000;
    let phase: Phase = 'loading';
    let phaseLeft = 10; // simulated minutes of loading
    let done = 0;
    let lastReport = 0;
    this.say(`상차 중 · loading at ${route.waypoints[0]!.name}`);
    await this.status(dispatch.id, 'PICKED_UP');
    while (!this.signal.aborted) {
      const started = Date.now();
      if (phase === 'loading' && (phaseLeft -= tickMinutes) <= 0) {
        phase = 'driving';
        await this.status(dispatch.id, 'IN_TRANSIT');
        this.say(`출발 · on the road (IN_TRANSIT)`);
      } else if (phase === 'driving') {
        done = Math.min(km, done + (kmh * tickMinutes) / 60);
        if (this.plan.doorIncident && !this.door.done && done >= km * 0.4) this.openDoor(positionAt(route, done).near);
        else if (done >= km) {
          phase = 'unloading';
          phaseLeft = 10;
          this.say(`도착, 하차 중 · arrived at ${route.waypoints.at(-1)!.name}, unloading`);
        } else if (done - lastReport >= 25) {
          lastReport = done;
          const p = positionAt(route, done);
          this.say(`${p.near} 부근 · near ${p.near}: ${done.toFixed(0)}/${km.toFixed(0)} km, ${this.reefer.temperature.toFixed(1)} °C`);
        }
      } else if (phase === 'unloading' && (phaseLeft -= tickMinutes) <= 0) break;
      if (this.reefer.doorOpen) this.maybeCloseDoor(tickMinutes);
      phase = this.reefer.doorOpen ? 'door' : phase === 'door' ? 'driving' : phase;

      const moving = phase === 'driving';
      await this.post(route, done, moving, tickMinutes);
      await sleep(Math.max(0, tickMs - (Date.now() - started)), this.signal);
    }
    if (this.signal.aborted) return;
    await this.status(dispatch.id, 'DELIVERED');
    this.stats.trips++;
    this.say(`배송 완료 · DELIVERED (dispatch ${dispatch.id})`);
    await this.complete(dispatch.id);
  }

  private openDoor(near: string) {
    this.reefer.doorOpen = true;
    this.door = { done: true, openedAt: Date.now(), simMinutes: 0 };
    this.say(
      `${near} 휴게소 정차, 적재함 문이 열린 채로 방치됨: 온도 상승 · rest stop near ${near}, cargo door left open (at least ${this.settings.doorOpenSeconds} s): temperature climbing above ${this.plan.maxC} °C`,
    );
  }

  private maybeCloseDoor(tickMinutes: number) {
    this.door.simMinutes += tickMinutes;
    const realSeconds = (Date.now() - this.door.openedAt) / 1000;
    if (this.door.simMinutes < this.settings.doorOpenSimMinutes || realSeconds < this.settings.doorOpenSeconds) return;
    this.reefer.doorOpen = false;
    this.say(
      `문 닫음, 다시 출발 (최고 ${this.stats.peakC.toFixed(1)} °C) · door closed after ${realSeconds.toFixed(0)} s, peak ${this.stats.peakC.toFixed(1)} °C; driving on`,
    );
  }

  /** One GPS point and one temperature reading, stamped with the real clock. */
  private async post(route: Route, km: number, moving: boolean, tickMinutes: number) {
    const now = new Date();
    const p = positionAt(route, km);
    const seq = this.stats.gpsPoints + 1;
    await this.http.request('POST', '/api/v1/mobile/locations', this.driver, {
      points: [
        {
          latitude: Number(p.lat.toFixed(6)),
          longitude: Number(p.lng.toFixed(6)),
          speed: moving ? this.settings.kmh : 0,
          heading: Number(p.heading.toFixed(1)),
          recorded_at: now.toISOString(),
          point_id: `sim-${this.plan.vehicleId}-${now.getTime()}-${seq}`,
        },
      ],
    });
    this.stats.gpsPoints++;
    const temperature = this.reefer.step(tickMinutes);
    this.stats.peakC = Math.max(this.stats.peakC, temperature);
    const body = {
      readings: [{ recorded_at: now.toISOString(), temperature_c: temperature, setpoint_c: this.plan.setpoint, door_open: this.reefer.doorOpen }],
    };
    if (this.gatewayKey) await this.http.request('POST', '/api/v1/telemetry/temperatures', { apiKey: this.gatewayKey.key }, body);
    else await this.http.request('POST', '/api/v1/mobile/temperatures', this.driver, body);
    this.stats.readings++;
  }
}
