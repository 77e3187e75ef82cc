//! Win32_Processor: one instance per physical package (socket) in /proc/cpuinfo.

use std::collections::BTreeMap;
use std::fs;

use super::system::{instance, read_trimmed, Machine};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::Result;

pub(super) const SUPERCLASSES: &[&str] = &["CIM_Processor", "CIM_LogicalDevice", "CIM_LogicalElement", "CIM_ManagedSystemElement"];

/// One package's facts, gathered from its logical CPUs' /proc/cpuinfo blocks.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Package {
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub mhz: Option<f64>,
    pub cache_kb: Option<u32>,
    pub logical: u32,
    pub cores: std::collections::BTreeSet<u32>,
}

/// Groups /proc/cpuinfo's blocks by `physical id` (absent = one package).
pub(crate) fn parse_cpuinfo(text: &str) -> BTreeMap<u32, Package> {
    let mut packages: BTreeMap<u32, Package> = BTreeMap::new();
    for block in text.split("\n\n").filter(|b| b.contains("processor")) {
        let field = |key: &str| block.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        });
        let id = field("physical id").and_then(|v| v.parse().ok()).unwrap_or(0);
        let p = packages.entry(id).or_default();
        p.logical += 1;
        p.model = p.model.take().or_else(|| field("model name"));
        p.vendor = p.vendor.take().or_else(|| field("vendor_id"));
        p.mhz = p.mhz.or_else(|| field("cpu MHz").and_then(|v| v.parse().ok()));
        p.cache_kb = p.cache_kb.or_else(|| field("cache size").and_then(|v| v.split_whitespace().next()?.parse().ok()));
        if let Some(core) = field("core id").and_then(|v| v.parse().ok()) {
            p.cores.insert(core);
        }
    }
    packages
}

/// WMI's Architecture value for this build's CPU family.
fn architecture() -> Option<u16> {
    match std::env::consts::ARCH {
        "x86" => Some(0),
        "arm" => Some(5),
        "x86_64" => Some(9),
        "aarch64" => Some(12),
        _ => None,
    }
}

pub(super) fn read(m: &Machine) -> Result<Vec<CimInstance>> {
    let packages = parse_cpuinfo(&fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
    let max_mhz = read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").and_then(|v| v.parse::<u64>().ok()).map(|khz| (khz / 1000) as u32);
    let width: u16 = if cfg!(target_pointer_width = "64") { 64 } else { 32 };
    Ok(packages
        .into_iter()
        .enumerate()
        .map(|(n, (_, p))| {
            let current = p.mhz.map(|v| v.round() as u32);
            let cores = if p.cores.is_empty() { p.logical } else { p.cores.len() as u32 };
            let s = |v: Option<String>| v.map_or(CimValue::Null, CimValue::String);
            instance(vec![
                CimProperty::key("DeviceID", CimType::String, CimValue::String(format!("CPU{n}"))),
                CimProperty::new("Name", CimType::String, s(p.model.clone())),
                CimProperty::new("Caption", CimType::String, s(p.model)),
                CimProperty::new("Manufacturer", CimType::String, s(p.vendor)),
                CimProperty::new("NumberOfCores", CimType::UInt32, CimValue::UInt32(cores)),
                CimProperty::new("NumberOfLogicalProcessors", CimType::UInt32, CimValue::UInt32(p.logical)),
                CimProperty::new("CurrentClockSpeed", CimType::UInt32, current.map_or(CimValue::Null, CimValue::UInt32)),
                CimProperty::new("MaxClockSpeed", CimType::UInt32, max_mhz.or(current).map_or(CimValue::Null, CimValue::UInt32)),
                CimProperty::new("L2CacheSize", CimType::UInt32, CimValue::Null),
                CimProperty::new("L3CacheSize", CimType::UInt32, p.cache_kb.map_or(CimValue::Null, CimValue::UInt32)),
                CimProperty::new("AddressWidth", CimType::UInt16, CimValue::UInt16(width)),
                CimProperty::new("DataWidth", CimType::UInt16, CimValue::UInt16(width)),
                CimProperty::new("Architecture", CimType::UInt16, architecture().map_or(CimValue::Null, CimValue::UInt16)),
                CimProperty::new("Status", CimType::String, CimValue::String("OK".into())),
                CimProperty::key("CreationClassName", CimType::String, CimValue::String("Win32_Processor".into())),
                CimProperty::key("SystemCreationClassName", CimType::String, CimValue::String("Win32_ComputerSystem".into())),
                CimProperty::key("SystemName", CimType::String, CimValue::String(m.hostname.clone())),
            ])
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_logical_cpus_by_package() {
        let block = |cpu: u32, pkg: u32, core: u32| {
            format!("processor\t: {cpu}\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\ncpu MHz\t\t: 2999.9\ncache size\t: 36608 KB\nphysical id\t: {pkg}\ncore id\t\t: {core}\n")
        };
        let text = [block(0, 0, 0), block(1, 0, 0), block(2, 0, 1), block(3, 1, 0)].join("\n");
        let p = parse_cpuinfo(&text);
        assert_eq!(p.len(), 2);
        assert_eq!((p[&0].logical, p[&0].cores.len()), (3, 2));
        assert_eq!(p[&0].cache_kb, Some(36_608));
        assert_eq!(p[&1].logical, 1);
    }
}
