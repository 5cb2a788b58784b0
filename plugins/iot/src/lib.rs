//! An IoT device fleet: N devices with a battery, a temperature, a status and a reporting
//! interval, one simulated second per timestep (see README.md for the model).
//!
//! One block per timestep:
//! * policy `tick` reads `state.fleet` (columnar: one list per field) and the params, builds the
//!   fleet from the params and the call's seeded stream if it is empty (timestep 1), advances every
//!   device by one second, publishes telemetry to the topic alias `telemetry` for each device whose
//!   interval elapsed and an alert to `alerts` for each transition (both keyed by device id), and
//!   signals the new fleet, this step's message and alert counts and the devices per status;
//! * `s_fleet` stores the new fleet, `s_telemetry_sent` and `s_alerts_sent` add up the messages,
//!   `s_status_count` stores the number of devices in the status its variable is named after
//!   (`n_ok`, `n_low_battery`, `n_overheat`, `n_offline`).
//!
//! Everything random comes from the call's stream (`ctx.rng_f64`, `ctx.normal`) and devices are
//! visited in id order, so the same seed gives the same fleet and the same messages.

use distroduce_sdk::{policy, state_update, Ctx};
use serde::{Deserialize, Serialize};

/// The topic alias of device telemetry.
pub const TELEMETRY: &str = "telemetry";
/// The topic alias of alerts.
pub const ALERTS: &str = "alerts";

/// A device's status, stored in the fleet as its code (`status as u8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    LowBattery = 1,
    Overheat = 2,
    Offline = 3,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Ok, Status::LowBattery, Status::Overheat, Status::Offline];

    pub fn from_code(code: u8) -> Result<Status, String> {
        Status::ALL.get(code as usize).copied().ok_or_else(|| format!("unknown status code {code} (0..=3)"))
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::LowBattery => "low_battery",
            Status::Overheat => "overheat",
            Status::Offline => "offline",
        }
    }

    /// The worst condition wins: offline (battery empty), overheat, low battery, ok.
    fn classify(battery: f64, hot: bool, p: &IotParams) -> Status {
        if battery <= 0.0 {
            Status::Offline
        } else if hot {
            Status::Overheat
        } else if battery < p.low_battery_pct {
            Status::LowBattery
        } else {
            Status::Ok
        }
    }
}

/// The model's parameters (every one is required; see `scenarios/iot.yaml`). Times in seconds,
/// battery in percent, temperatures in °C.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IotParams {
    /// Fleet size.
    pub devices: u64,
    /// Each device's own reporting interval is drawn uniformly from these bounds (inclusive).
    pub interval_min: u64,
    pub interval_max: u64,
    /// A device with a low battery reports this many times less often.
    pub low_battery_factor: u64,
    /// Reporting interval while overheating.
    pub overheat_interval: u64,
    /// Initial battery: uniform in `[battery_init_min, 100]`.
    pub battery_init_min: f64,
    /// Battery spent per second, and per telemetry message sent.
    pub idle_drain: f64,
    pub tx_cost: f64,
    /// Below this the device is `low_battery`.
    pub low_battery_pct: f64,
    /// Per second, the chance that a low-battery or offline device is recharged to 100 %.
    pub recharge_prob: f64,
    /// Temperature: a mean-reverting random walk around `ambient_c` (initial spread
    /// `temp_init_sd`), pulled back by `reversion` per second with noise `temp_noise`.
    pub ambient_c: f64,
    pub temp_init_sd: f64,
    pub reversion: f64,
    pub temp_noise: f64,
    /// Per second, the chance of a heat spike of `spike_c` degrees (a stuck fan, the sun).
    pub spike_prob: f64,
    pub spike_c: f64,
    /// Overheat at or above `overheat_c`; back to normal below `cool_c` (hysteresis).
    pub overheat_c: f64,
    pub cool_c: f64,
}

impl IotParams {
    fn check(&self) -> Result<(), String> {
        let probs = [self.recharge_prob, self.spike_prob];
        let finite = [
            self.battery_init_min,
            self.idle_drain,
            self.tx_cost,
            self.low_battery_pct,
            self.ambient_c,
            self.temp_init_sd,
            self.reversion,
            self.temp_noise,
            self.spike_c,
            self.overheat_c,
            self.cool_c,
        ];
        if !(self.interval_min >= 1 && self.interval_min <= self.interval_max) {
            return Err(format!("need 1 <= interval_min <= interval_max; got {self:?}"));
        }
        if self.low_battery_factor < 1 || self.overheat_interval < 1 {
            return Err(format!("need low_battery_factor >= 1 and overheat_interval >= 1; got {self:?}"));
        }
        if !finite.iter().all(|x| x.is_finite()) || !probs.iter().all(|p| (0.0..=1.0).contains(p)) {
            return Err(format!("need finite numbers and probabilities in [0, 1]; got {self:?}"));
        }
        if !(self.cool_c <= self.overheat_c && (0.0..=100.0).contains(&self.battery_init_min)) {
            return Err(format!("need cool_c <= overheat_c and 0 <= battery_init_min <= 100; got {self:?}"));
        }
        Ok(())
    }

    /// The reporting interval of a device with base interval `base` in status `s` (none offline).
    pub fn interval(&self, base: u64, s: Status) -> u64 {
        match s {
            Status::Ok | Status::Offline => base,
            Status::LowBattery => base.saturating_mul(self.low_battery_factor),
            Status::Overheat => self.overheat_interval.min(base),
        }
    }
}

/// The fleet, one list per field, device `i` at index `i` of each (id `dev-00000`, …).
/// Flat lists of numbers decode several times faster than a list of maps (README.md).
/// Battery and temperature are rounded (0.001 %, 0.01 °C) so that records stay short.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fleet {
    /// Percent, `0` when offline.
    pub battery: Vec<f64>,
    /// °C.
    pub temperature: Vec<f64>,
    /// [`Status`] codes.
    pub status: Vec<u8>,
    /// The device's own base reporting interval, seconds.
    pub interval: Vec<u64>,
    /// The timestep of the next report.
    pub next: Vec<u64>,
    /// The sequence number of the next telemetry message (= messages sent so far).
    pub seq: Vec<u64>,
}

impl Fleet {
    pub fn len(&self) -> usize {
        self.battery.len()
    }

    pub fn is_empty(&self) -> bool {
        self.battery.is_empty()
    }

    fn check(&self) -> Result<(), String> {
        let n = self.len();
        let lens = [self.temperature.len(), self.status.len(), self.interval.len(), self.next.len(), self.seq.len()];
        if lens.iter().any(|&l| l != n) {
            return Err(format!(
                "fleet columns differ in length: battery {n}, temperature/status/interval/next/seq {lens:?}"
            ));
        }
        Ok(())
    }

    /// A new fleet from the params and the call's stream: battery uniform in
    /// `[battery_init_min, 100]`, temperature normal around the ambient, base interval uniform,
    /// first report staggered uniformly within the first interval from `timestep`.
    pub fn build(ctx: &Ctx, p: &IotParams, timestep: u64) -> Fleet {
        let n = p.devices as usize;
        let mut f = Fleet {
            battery: Vec::with_capacity(n),
            temperature: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            interval: Vec::with_capacity(n),
            next: Vec::with_capacity(n),
            seq: vec![0; n],
        };
        let span = p.interval_max - p.interval_min + 1;
        for _ in 0..n {
            let battery = round3(p.battery_init_min + (100.0 - p.battery_init_min) * ctx.rng_f64());
            let temperature = round2(ctx.normal(p.ambient_c, p.temp_init_sd));
            let interval = p.interval_min + uniform_below(ctx, span);
            let status = Status::classify(battery, temperature >= p.overheat_c, p);
            let first = uniform_below(ctx, p.interval(interval, status));
            f.battery.push(battery);
            f.temperature.push(temperature);
            f.status.push(status as u8);
            f.interval.push(interval);
            f.next.push(timestep + first);
        }
        f
    }
}

/// A uniform integer in `0..n` (`n >= 1`).
fn uniform_below(ctx: &Ctx, n: u64) -> u64 {
    ((ctx.rng_f64() * n as f64) as u64).min(n - 1)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The device id of index `i`.
pub fn device_id(i: usize) -> String {
    format!("dev-{i:05}")
}

/// One telemetry message.
#[derive(Debug, Serialize)]
pub struct Telemetry<'a> {
    pub device_id: &'a str,
    /// Milliseconds since the Unix epoch (the virtual clock).
    pub ts: i64,
    pub battery: f64,
    pub temperature: f64,
    pub status: &'static str,
    pub seq: u64,
}

/// One alert: `kind` is `low_battery`, `offline` (battery empty), `recharged`, `overheat` or
/// `cooled`; `value` is the battery (%) or the temperature (°C) that triggered it.
#[derive(Debug, Serialize)]
pub struct Alert<'a> {
    pub device_id: &'a str,
    pub kind: &'static str,
    pub value: f64,
    pub ts: i64,
}

#[derive(Debug, Deserialize)]
pub struct FleetState {
    pub fleet: Fleet,
}

/// The signals of `tick`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    pub fleet: Fleet,
    /// Telemetry messages and alerts published this timestep.
    pub telemetry: u64,
    pub alerts: u64,
    /// Devices per status after this timestep.
    pub n_ok: u64,
    pub n_low_battery: u64,
    pub n_overheat: u64,
    pub n_offline: u64,
}

/// Advances the fleet by one second (building it first if it is empty) and publishes its
/// telemetry and alerts. Per device, in id order:
/// 1. offline: recharged with `recharge_prob`, its temperature relaxes toward the ambient;
/// 2. online: the battery drains `idle_drain` (twice that while overheating), the temperature
///    takes one mean-reverting step plus a possible spike, a device that was low on battery is
///    recharged with `recharge_prob`, and a device whose report is due pays `tx_cost`;
/// 3. the new status is classified; crossings of `low_battery_pct`, 0 %, `overheat_c` (up) and
///    `cool_c` (down) and recharges are alerts;
/// 4. a due device reports (with its new values, so the report that empties a battery says
///    `offline`) and is due again after its status's interval; a device whose status changed
///    without reporting has its next report brought forward to at most the new interval.
#[policy]
pub fn tick(ctx: &Ctx, params: &IotParams, state: FleetState) -> Result<Tick, String> {
    let p = params;
    p.check()?;
    let t = ctx.timestep;
    let mut fleet = state.fleet;
    if fleet.is_empty() {
        fleet = Fleet::build(ctx, p, t);
    }
    fleet.check()?;
    let ts = ctx.time_ns.div_euclid(1_000_000);
    let mut out = Tick::default();
    let mut id = String::with_capacity(16);
    for i in 0..fleet.len() {
        let before = Status::from_code(fleet.status[i])?;
        let mut battery = fleet.battery[i];
        let mut temp = fleet.temperature[i];
        // Alerts of this device, as (kind, value); published once the id is formatted.
        let mut alerts: [(&'static str, f64); 3] = [("", 0.0); 3];
        let mut n_alerts = 0;
        let mut alert = |kind: &'static str, value: f64| {
            alerts[n_alerts] = (kind, value);
            n_alerts += 1;
        };
        let mut due = false;
        let hot;
        if before == Status::Offline {
            temp = round2(temp + p.reversion * (p.ambient_c - temp) + ctx.normal(0.0, p.temp_noise));
            if ctx.rng_f64() < p.recharge_prob {
                battery = 100.0;
                alert("recharged", battery);
            }
            hot = false;
        } else {
            let was_hot = before == Status::Overheat;
            let mut was_low = battery < p.low_battery_pct;
            battery -= p.idle_drain * if was_hot { 2.0 } else { 1.0 };
            let mut next_temp = temp + p.reversion * (p.ambient_c - temp) + ctx.normal(0.0, p.temp_noise);
            if ctx.rng_f64() < p.spike_prob {
                next_temp += p.spike_c;
            }
            temp = round2(next_temp);
            if was_low && ctx.rng_f64() < p.recharge_prob {
                battery = 100.0;
                was_low = false;
                alert("recharged", battery);
            }
            due = t >= fleet.next[i];
            if due {
                battery -= p.tx_cost;
            }
            battery = round3(battery.max(0.0));
            if battery <= 0.0 {
                alert("offline", battery);
                hot = false;
            } else {
                if !was_low && battery < p.low_battery_pct {
                    alert("low_battery", battery);
                }
                hot = if was_hot { temp >= p.cool_c } else { temp >= p.overheat_c };
                if hot && !was_hot {
                    alert("overheat", temp);
                } else if was_hot && !hot {
                    alert("cooled", temp);
                }
            }
        }
        let status = Status::classify(battery, hot, p);
        let interval = p.interval(fleet.interval[i], status);
        if due {
            fleet.next[i] = t + interval;
        } else if status != before && status != Status::Offline {
            fleet.next[i] = fleet.next[i].min(t + interval);
        }
        if n_alerts > 0 || due {
            use std::fmt::Write;
            id.clear();
            let _ = write!(id, "dev-{i:05}");
        }
        for &(kind, value) in &alerts[..n_alerts] {
            ctx.emit(ALERTS, Some(&id), &Alert { device_id: &id, kind, value, ts });
        }
        out.alerts += n_alerts as u64;
        if due {
            let seq = fleet.seq[i];
            let msg = Telemetry { device_id: &id, ts, battery, temperature: temp, status: status.name(), seq };
            ctx.emit(TELEMETRY, Some(&id), &msg);
            fleet.seq[i] = seq + 1;
            out.telemetry += 1;
        }
        fleet.battery[i] = battery;
        fleet.temperature[i] = temp;
        fleet.status[i] = status as u8;
        match status {
            Status::Ok => out.n_ok += 1,
            Status::LowBattery => out.n_low_battery += 1,
            Status::Overheat => out.n_overheat += 1,
            Status::Offline => out.n_offline += 1,
        }
    }
    out.fleet = fleet;
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub struct FleetSignal {
    pub fleet: Fleet,
}

/// The new fleet.
#[state_update]
pub fn s_fleet(signals: FleetSignal) -> Fleet {
    signals.fleet
}

#[derive(Debug, Deserialize)]
pub struct TelemetrySent {
    pub telemetry_sent: u64,
}

#[derive(Debug, Deserialize)]
pub struct TelemetrySignal {
    pub telemetry: u64,
}

/// Telemetry messages published so far.
#[state_update]
pub fn s_telemetry_sent(state: &TelemetrySent, signals: &TelemetrySignal) -> u64 {
    state.telemetry_sent + signals.telemetry
}

#[derive(Debug, Deserialize)]
pub struct AlertsSent {
    pub alerts_sent: u64,
}

#[derive(Debug, Deserialize)]
pub struct AlertsSignal {
    pub alerts: u64,
}

/// Alerts published so far.
#[state_update]
pub fn s_alerts_sent(state: &AlertsSent, signals: &AlertsSignal) -> u64 {
    state.alerts_sent + signals.alerts
}

#[derive(Debug, Deserialize)]
pub struct StatusCounts {
    pub n_ok: u64,
    pub n_low_battery: u64,
    pub n_overheat: u64,
    pub n_offline: u64,
}

/// The number of devices in one status: the variable's name says which (`n_ok`,
/// `n_low_battery`, `n_overheat`, `n_offline`).
#[state_update]
pub fn s_status_count(ctx: &Ctx, signals: &StatusCounts) -> Result<u64, String> {
    match ctx.variable() {
        Some("n_ok") => Ok(signals.n_ok),
        Some("n_low_battery") => Ok(signals.n_low_battery),
        Some("n_overheat") => Ok(signals.n_overheat),
        Some("n_offline") => Ok(signals.n_offline),
        other => Err(format!(
            "s_status_count updates n_ok, n_low_battery, n_overheat or n_offline, not {}",
            other.unwrap_or("(no variable)")
        )),
    }
}

distroduce_sdk::native_table!(tick, s_fleet, s_telemetry_sent, s_alerts_sent, s_status_count);

#[cfg(test)]
mod tests;
