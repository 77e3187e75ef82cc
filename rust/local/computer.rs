//! Win32_ComputerSystem: this machine. Memory in bytes as Windows reports it.

use std::fs;

use super::processor::parse_cpuinfo;
use super::system::{instance, meminfo_kb, opt_string, read_trimmed, Machine};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::Result;

pub(super) const SUPERCLASSES: &[&str] =
    &["CIM_UnitaryComputerSystem", "CIM_ComputerSystem", "CIM_System", "CIM_LogicalElement", "CIM_ManagedSystemElement"];

/// The DNS domain: the `domain` or first `search` entry of /etc/resolv.conf, else WORKGROUP as on a
/// Windows machine outside a domain.
fn domain() -> String {
    let resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    resolv
        .lines()
        .find_map(|l| l.strip_prefix("domain").or_else(|| l.strip_prefix("search")).and_then(|r| r.split_whitespace().next()))
        .map(str::to_string)
        .unwrap_or_else(|| "WORKGROUP".to_string())
}

fn system_type() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64-based PC",
        "x86" => "X86-based PC",
        "aarch64" | "arm" => "ARM64-based PC",
        _ => "Unknown",
    }
}

pub(super) fn read(m: &Machine) -> Result<Vec<CimInstance>> {
    let packages = parse_cpuinfo(&fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
    let logical: u32 = packages.values().map(|p| p.logical).sum();
    let total = meminfo_kb(&fs::read_to_string("/proc/meminfo").unwrap_or_default(), "MemTotal").map(|kb| kb * 1024);
    let dmi = |f: &str| read_trimmed(format!("/sys/class/dmi/id/{f}"));
    let user = std::env::var("USER").ok().filter(|u| !u.is_empty());
    Ok(vec![instance(vec![
        CimProperty::key("Name", CimType::String, CimValue::String(m.hostname.clone())),
        CimProperty::key("CreationClassName", CimType::String, CimValue::String("Win32_ComputerSystem".into())),
        CimProperty::new("Caption", CimType::String, CimValue::String(m.hostname.clone())),
        CimProperty::new("DNSHostName", CimType::String, CimValue::String(m.hostname.clone())),
        CimProperty::new("Domain", CimType::String, CimValue::String(domain())),
        CimProperty::new("Manufacturer", CimType::String, opt_string(dmi("sys_vendor"))),
        CimProperty::new("Model", CimType::String, opt_string(dmi("product_name"))),
        CimProperty::new("NumberOfProcessors", CimType::UInt32, CimValue::UInt32(packages.len() as u32)),
        CimProperty::new("NumberOfLogicalProcessors", CimType::UInt32, CimValue::UInt32(logical)),
        CimProperty::new("TotalPhysicalMemory", CimType::UInt64, total.map_or(CimValue::Null, CimValue::UInt64)),
        CimProperty::new("SystemType", CimType::String, CimValue::String(system_type().into())),
        CimProperty::new("PrimaryOwnerName", CimType::String, CimValue::Null),
        CimProperty::new("UserName", CimType::String, opt_string(user)),
        CimProperty::new("PartOfDomain", CimType::Boolean, CimValue::Boolean(false)),
        CimProperty::new("CurrentTimeZone", CimType::SInt16, CimValue::SInt16(m.utc_offset_minutes)),
        CimProperty::new("Status", CimType::String, CimValue::String("OK".into())),
    ])])
}
