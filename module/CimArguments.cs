using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions;

/// <summary>
/// PowerShell values as the native library takes them (spec/cmdlet-behaviour.md §1.8): the PSObject
/// wrapper dropped; a CimInstance, or a <c>[ref]</c> to one, becomes a reference to it by its keys
/// (an EPR on the wire); arrays of them become reference arrays.
/// </summary>
internal static class CimArguments
{
    /// <summary>The value to hand to <see cref="NativeCimSession"/> for a property or parameter.</summary>
    internal static object? ToNative(object? value)
    {
        value = value is PSObject p ? p.BaseObject : value;
        if (value is PSReference r) value = r.Value is PSObject inner ? inner.BaseObject : r.Value;
        return value switch
        {
            CimInstance i => ReferenceTo(i),
            object[] items when items.Length > 0 && items.All(o => (o is PSObject w ? w.BaseObject : o) is CimInstance) =>
                items.Select(o => ReferenceTo((CimInstance)(o is PSObject w ? w.BaseObject : o))).ToArray(),
            _ => value,
        };
    }

    private static CimReference ReferenceTo(CimInstance i)
    {
        var keys = i.CimInstanceProperties.Where(p => (p.Flags & CimFlags.Key) != 0 && p.Value is not null)
            .Select(p => (p.Name, CimValues.Format(p.Value).Texts.FirstOrDefault() ?? ""));
        return CimReference.Of(i.CimSystemProperties.Namespace, i.CimSystemProperties.ClassName, keys);
    }
}
