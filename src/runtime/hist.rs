//! Histograms as bcc prints them (log2 and linear buckets with star bars),
//! and as JSON: {"unit": .., "buckets": [{"low": .., "high": .., "count": ..}]}.

use serde_json::{json, Value};

const BAR_WIDTH: usize = 40;

fn bar(count: u64, max: u64, width: usize) -> String {
    let stars = if max == 0 {
        0
    } else {
        ((count as u128 * width as u128) / max as u128) as usize
    };
    let mut s = "*".repeat(stars.min(width));
    if count > max {
        s.push('+');
    }
    format!("{s:<width$}")
}

/// Bucket i of a log2 histogram holds [2^i, 2^(i+1)); bucket 0 also holds 0.
pub fn log2_bounds(i: usize) -> (u64, u64) {
    if i == 0 {
        (0, 1)
    } else {
        (1u64 << i, (1u64 << (i + 1)) - 1)
    }
}

/// bcc's log2 histogram. Trailing empty buckets are not shown.
pub fn log2_lines(unit: &str, slots: &[u64]) -> Vec<String> {
    let Some(last) = slots.iter().rposition(|&c| c > 0) else {
        return Vec::new();
    };
    let max = slots.iter().copied().max().unwrap_or(0);
    let wide = last >= 32;
    let mut lines = Vec::with_capacity(last + 2);
    if wide {
        lines.push(format!("{:>29}{unit:<19} : count     distribution", ""));
    } else {
        lines.push(format!("{:>10}{unit:<15} : count     distribution", ""));
    }
    for (i, &count) in slots.iter().enumerate().take(last + 1) {
        let (low, high) = log2_bounds(i);
        let low = if i == 0 { 0 } else { low };
        if wide {
            lines.push(format!(
                "{low:>20} -> {high:<20} : {count:<8} |{}|",
                bar(count, max, BAR_WIDTH)
            ));
        } else {
            lines.push(format!(
                "{low:>10} -> {high:<10} : {count:<8} |{}|",
                bar(count, max, BAR_WIDTH)
            ));
        }
    }
    lines
}

pub fn log2_json(unit: &str, slots: &[u64]) -> Value {
    let last = slots.iter().rposition(|&c| c > 0).map_or(0, |l| l + 1);
    let buckets: Vec<Value> = slots
        .iter()
        .enumerate()
        .take(last)
        .map(|(i, &c)| {
            let (low, high) = log2_bounds(i);
            json!({ "low": low, "high": high, "count": c })
        })
        .collect();
    json!({ "unit": unit, "buckets": buckets })
}

/// A linear histogram: bucket i holds [base + i*step, base + (i+1)*step).
pub fn linear_lines(unit: &str, base: u64, step: u64, slots: &[u64]) -> Vec<String> {
    let Some(last) = slots.iter().rposition(|&c| c > 0) else {
        return Vec::new();
    };
    let max = slots.iter().copied().max().unwrap_or(0);
    let mut lines = vec![format!("{unit:>13}  : count     distribution")];
    for (i, &count) in slots.iter().enumerate().take(last + 1) {
        let low = base + i as u64 * step;
        lines.push(format!(
            "{low:>13}  : {count:<8} |{}|",
            bar(count, max, BAR_WIDTH)
        ));
    }
    lines
}

pub fn linear_json(unit: &str, base: u64, step: u64, slots: &[u64]) -> Value {
    let last = slots.iter().rposition(|&c| c > 0).map_or(0, |l| l + 1);
    let buckets: Vec<Value> = slots
        .iter()
        .enumerate()
        .take(last)
        .map(|(i, &c)| {
            let low = base + i as u64 * step;
            json!({ "low": low, "high": low + step - 1, "count": c })
        })
        .collect();
    json!({ "unit": unit, "buckets": buckets })
}

/// Sum a per-CPU array of u64 counters read as bytes.
pub fn sum_percpu_u64(per_cpu: &[Vec<u8>]) -> u64 {
    per_cpu
        .iter()
        .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
        .map(u64::from_ne_bytes)
        .sum()
}

/// Sum a per-CPU value made of u64 counters, word by word over the CPUs.
pub fn sum_percpu_words(per_cpu: &[Vec<u8>]) -> Vec<u64> {
    let mut sum: Vec<u64> = Vec::new();
    for cpu in per_cpu {
        for (i, w) in cpu.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            if i == sum.len() {
                sum.push(0);
            }
            sum[i] = sum[i].wrapping_add(u64::from_ne_bytes(b));
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percpu_words_sum_by_position() {
        let cpu = |a: u64, b: u64| [a.to_ne_bytes(), b.to_ne_bytes()].concat();
        assert_eq!(sum_percpu_words(&[cpu(1, 10), cpu(2, 20)]), [3, 30]);
        assert_eq!(sum_percpu_u64(&[cpu(1, 10), cpu(2, 20)]), 3);
    }

    #[test]
    fn log2_rendering() {
        let mut slots = [0u64; 32];
        slots[0] = 1;
        slots[3] = 4;
        let l = log2_lines("usecs", &slots);
        assert_eq!(l.len(), 5);
        assert!(l[0].contains("usecs") && l[0].contains("count     distribution"));
        assert_eq!(
            l[1],
            format!("{:>10} -> {:<10} : {:<8} |{:<40}|", 0, 1, 1, "**********")
        );
        assert!(l[4].contains("8 -> 15") && l[4].contains(&"*".repeat(40)));
        let j = log2_json("usecs", &slots);
        assert_eq!(j["buckets"].as_array().unwrap().len(), 4);
        assert_eq!(j["buckets"][3]["low"], 8);
        assert_eq!(j["buckets"][3]["count"], 4);
        assert!(log2_lines("x", &[0; 4]).is_empty());
    }

    #[test]
    fn linear_rendering() {
        let l = linear_lines("kbytes", 0, 4, &[1, 0, 2]);
        assert_eq!(l.len(), 4);
        assert!(l[3].trim_start().starts_with("8  : 2"));
    }
}
