package sdk

import "strconv"

// FormatPython formats ns nanoseconds since the Unix epoch (UTC) like Python's str(datetime):
// "YYYY-MM-DD HH:MM:SS", followed by ".ffffff" only when the microseconds are not zero.
//
// Nanoseconds below the microsecond are dropped (rounding toward the past, as Python's datetime
// has microsecond resolution). The calendar is the proleptic Gregorian one; years outside
// 1..=9999 still format (with a sign or more digits) rather than fail. A port of the Rust SDK's
// time::format_python, character for character.
func FormatPython(ns int64) string {
	micros := floorDiv(ns, 1_000)
	secs := floorDiv(micros, 1_000_000)
	frac := micros - secs*1_000_000
	days := floorDiv(secs, 86_400)
	sod := secs - days*86_400
	y, m, d := CivilFromDays(days)
	b := make([]byte, 0, 26)
	b = pad(b, y, 4)
	b = append(b, '-')
	b = pad(b, int64(m), 2)
	b = append(b, '-')
	b = pad(b, int64(d), 2)
	b = append(b, ' ')
	b = pad(b, sod/3600, 2)
	b = append(b, ':')
	b = pad(b, sod%3600/60, 2)
	b = append(b, ':')
	b = pad(b, sod%60, 2)
	if frac != 0 {
		b = append(b, '.')
		b = pad(b, frac, 6)
	}
	return string(b)
}

// pad writes x zero-padded to width digits, as Rust's {x:0width} does (the sign counts toward
// the width and comes before the zeros).
func pad(b []byte, x int64, width int) []byte {
	s := strconv.FormatInt(x, 10)
	neg := x < 0
	if neg {
		b = append(b, '-')
		s = s[1:]
		width--
	}
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// floorDiv is Rust's div_euclid for a positive divisor: the quotient rounded toward -inf.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// CivilFromDays returns (year, month, day) of the day z days after 1970-01-01, by Howard
// Hinnant's algorithm: count in 400-year eras that start on March 1st, so that the leap day is
// the last day of a year.
func CivilFromDays(z int64) (int64, uint32, uint32) {
	z += 719_468 // days from 0000-03-01 to 1970-01-01
	era := floorDiv(z, 146_097)
	doe := z - era*146_097                                   // day of era, [0, 146096]
	yoe := (doe - doe/1460 + doe/36_524 - doe/146_096) / 365 // year of era, [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)                 // day of year from March 1st, [0, 365]
	mp := (5*doy + 2) / 153                                  // month from March, [0, 11]
	d := uint32(doy - (153*mp+2)/5 + 1)
	var m uint32
	if mp < 10 {
		m = uint32(mp + 3)
	} else {
		m = uint32(mp - 9)
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}
