//! Win32_BIOS: the firmware as /sys/class/dmi/id describes it. Files only root may read (the serial
//! number) become null for other users; without DMI data (some VMs, non-x86 boards) there is no
//! instance.

use std::path::Path;

use super::system::{instance, opt_string, read_trimmed, Machine};
use crate::cim::{CimInstance, CimProperty, CimType, CimValue};
use crate::error::Result;

pub(super) const SUPERCLASSES: &[&str] = &["CIM_BIOSElement", "CIM_SoftwareElement", "CIM_LogicalElement", "CIM_ManagedSystemElement"];

const DMI: &str = "/sys/class/dmi/id";

/// DMI's `MM/DD/YYYY` release date as microseconds since the epoch (midnight UTC).
pub(crate) fn release_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().split('/');
    let (m, d, y): (u32, u32, i64) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let text = format!("{y:04}{m:02}{d:02}000000.000000+000");
    match crate::cim::datetime::parse_dmtf(&text)? {
        crate::cim::CimDateTime::Timestamp { unix_micros, .. } => Some(unix_micros),
        _ => None,
    }
}

pub(super) fn read(_m: &Machine) -> Result<Vec<CimInstance>> {
    if !Path::new(DMI).is_dir() {
        return Ok(Vec::new());
    }
    let dmi = |f: &str| read_trimmed(format!("{DMI}/{f}"));
    let version = dmi("bios_version");
    let vendor = dmi("bios_vendor");
    let date = dmi("bios_date").and_then(|d| release_date(&d));
    let name = version.clone().or_else(|| vendor.clone()).unwrap_or_else(|| "Default System BIOS".into());
    Ok(vec![instance(vec![
        CimProperty::key("Name", CimType::String, CimValue::String(name.clone())),
        CimProperty::key("SoftwareElementID", CimType::String, CimValue::String(name)),
        CimProperty::key("SoftwareElementState", CimType::UInt16, CimValue::UInt16(3)),
        CimProperty::key("TargetOperatingSystem", CimType::UInt16, CimValue::UInt16(0)),
        CimProperty::key("Version", CimType::String, opt_string(version.clone())),
        CimProperty::new("Manufacturer", CimType::String, opt_string(vendor)),
        CimProperty::new("SMBIOSBIOSVersion", CimType::String, opt_string(version)),
        CimProperty::new("ReleaseDate", CimType::DateTime, date.map_or(CimValue::Null, |us| {
            CimValue::DateTime(crate::cim::CimDateTime::Timestamp { unix_micros: us, utc_offset_minutes: 0 })
        })),
        CimProperty::new("SerialNumber", CimType::String, opt_string(dmi("product_serial"))),
        CimProperty::new("Status", CimType::String, CimValue::String("OK".into())),
        CimProperty::new("PrimaryBIOS", CimType::Boolean, CimValue::Boolean(true)),
    ])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dmi_dates() {
        assert_eq!(release_date("04/01/2014"), Some(1_396_310_400_000_000));
        assert_eq!(release_date("13/01/2014"), None);
        assert_eq!(release_date("nonsense"), None);
    }
}
