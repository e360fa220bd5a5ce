//! Number <-> text conversions with Redis's exact rules (`string2ll`, `d2string`, `%.17g`).

/// Redis's `string2ll`/`lpStringToInt64`: canonical decimal only (no `+`, no leading zeros, no `-0`, at
/// most 20 bytes), within `i64` (the workspace's one copy, `zedis_util::num`).
pub use zedis_util::num::parse_i64_exact as string_to_i64;

/// Redis's `double2ll`: the value as an integer when it is one, within ±`LLONG_MAX/2`.
pub fn double_to_i64(d: f64) -> Option<i64> {
    let half = (i64::MAX / 2) as f64;
    if d < -half || d > half || d.is_nan() {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

/// C's `printf("%.17g", d)` for a finite `d`.
pub fn format_g17(d: f64) -> String {
    let mut out = Vec::with_capacity(24);
    zedis_util::double::format_double_g17(&mut out, d);
    String::from_utf8(out).unwrap_or_default()
}

/// Redis's `d2string`, used for sorted-set scores inside listpacks.
pub fn d2string(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d < 0.0 {
            "-inf".into()
        } else {
            "inf".into()
        }
    } else if d == 0.0 {
        if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        }
    } else if let Some(v) = double_to_i64(d) {
        v.to_string()
    } else {
        format_g17(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(string_to_i64(b"0"), Some(0));
        assert_eq!(string_to_i64(b"-0"), None);
        assert_eq!(string_to_i64(b"01"), None);
        assert_eq!(string_to_i64(b"+1"), None);
        assert_eq!(string_to_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string_to_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn g17_matches_c() {
        assert_eq!(format_g17(1.5), "1.5");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(
            format_g17(1e100),
            "1.0000000000000000e+100".replace(".0000000000000000", "")
        );
        assert_eq!(format_g17(1.2345e-7), "1.2345000000000001e-07");
        assert_eq!(format_g17(3.0e20), "3e+20");
        assert_eq!(d2string(3.0), "3");
        assert_eq!(d2string(-0.0), "-0");
    }

    proptest! {
        #[test]
        fn g17_roundtrips(d in any::<f64>().prop_filter("finite", |d| d.is_finite())) {
            prop_assert_eq!(crate::strtod::scan_double(format_g17(d).as_bytes()), Some(d));
        }
    }
}
