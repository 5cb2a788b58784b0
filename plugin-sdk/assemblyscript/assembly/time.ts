// Timestamps formatted the way the original Python models printed them (a port of
// `format_python` and `civil_from_days` in the Rust SDK's src/time.rs).

// @ts-ignore: decorator
@inline function divEuclid(a: i64, b: i64): i64 {
  const q = a / b;
  return a % b < 0 ? q - 1 : q;
}

// @ts-ignore: decorator
@inline function remEuclid(a: i64, b: i64): i64 {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/** Year, month and day of `civilFromDays`. */
export class Civil {
  constructor(public year: i64, public month: i32, public day: i32) {}
}

/**
 * (year, month, day) of the day `z` days after 1970-01-01, by Howard Hinnant's algorithm (count in
 * 400-year eras that start on March 1st, so that the leap day is the last day of a year).
 */
export function civilFromDays(z: i64): Civil {
  z += 719468; // days from 0000-03-01 to 1970-01-01
  const era = divEuclid(z, 146097);
  const doe = remEuclid(z, 146097); // day of era, [0, 146096]
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // year of era, [0, 399]
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, [0, 365]
  const mp = (5 * doy + 2) / 153; // month from March, [0, 11]
  const d = <i32>(doy - (153 * mp + 2) / 5 + 1);
  const m = <i32>(mp < 10 ? mp + 3 : mp - 9);
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return new Civil(y, m, d);
}

/** Writes `v` as `width` decimal digits (zero-padded) at `p` (UTF-16); returns the next address. */
function digits(p: usize, v: i64, width: i32): usize {
  for (let i = width - 1; i >= 0; i--) {
    store<u16>(p + (<usize>i << 1), <u16>(0x30 + <i32>(v % 10)));
    v /= 10;
  }
  return p + (<usize>width << 1);
}

/**
 * Formats `ns` nanoseconds since the Unix epoch (UTC) like Python's `str(datetime)`:
 * `"YYYY-MM-DD HH:MM:SS"`, followed by `".ffffff"` only when the microseconds are not zero.
 * Nanoseconds below the microsecond are dropped (rounding toward the past).
 */
export function formatPython(ns: i64): string {
  const micros = divEuclid(ns, 1000);
  const secs = divEuclid(micros, 1000000);
  const frac = remEuclid(micros, 1000000);
  const days = divEuclid(secs, 86400);
  const sod = remEuclid(secs, 86400);
  const c = civilFromDays(days);
  const y = c.year;
  if (y < 0 || y > 9999) {
    // Outside Python's range (and outside i64 nanoseconds, so never reached): plain formatting.
    return y.toString() + "-" + pad2(c.month) + "-" + pad2(c.day) + " " + hms(sod) + (frac == 0 ? "" : "." + frac.toString().padStart(6, "0"));
  }
  const len = frac == 0 ? 19 : 26;
  const s = changetype<string>(__new(<usize>len << 1, idof<string>()));
  let p = changetype<usize>(s);
  p = digits(p, y, 4);
  store<u16>(p, 0x2d); // -
  p = digits(p + 2, c.month, 2);
  store<u16>(p, 0x2d);
  p = digits(p + 2, c.day, 2);
  store<u16>(p, 0x20); // space
  p = digits(p + 2, sod / 3600, 2);
  store<u16>(p, 0x3a); // :
  p = digits(p + 2, (sod % 3600) / 60, 2);
  store<u16>(p, 0x3a);
  p = digits(p + 2, sod % 60, 2);
  if (frac != 0) {
    store<u16>(p, 0x2e); // .
    digits(p + 2, frac, 6);
  }
  return s;
}

function pad2(v: i32): string {
  return v.toString().padStart(2, "0");
}

function hms(sod: i64): string {
  return pad2(<i32>(sod / 3600)) + ":" + pad2(<i32>((sod % 3600) / 60)) + ":" + pad2(<i32>(sod % 60));
}
