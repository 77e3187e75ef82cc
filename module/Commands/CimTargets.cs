using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions.Commands;

/// <summary>One session a CIM cmdlet runs on; <see cref="Temporary"/> ones are removed after use.</summary>
internal readonly record struct CimTarget(CimSession? Session, NativeCimSession Native, string? Computer, bool Temporary);

/// <summary>
/// The sessions a CIM cmdlet runs on (spec/cmdlet-behaviour.md §1.9): -CimSession as given; else
/// temporary sessions to each -ComputerName (no test connection: the operation is the test); else the
/// origin (the session an input instance or class was read through) while it exists, or a temporary
/// session to the origin's computer once it is removed; else a temporary session to this machine. Temporary sessions live in a scope of their own so they use no runspace Ids.
/// </summary>
internal static class CimTargets
{
    /// <summary>The WS-Management options of temporary sessions from a cmdlet's -SessionOption,
    /// -Port and -OperationTimeoutSec; null when none are given.</summary>
    internal static NativeCimSessionOptions? TemporaryOptions(CimSessionOptions? options, uint port, uint operationTimeoutSec)
    {
        NativeCimSessionOptions? spec = (options?.Clone() ?? (port != 0 ? new WSManSessionOptions() : null))?.ToSpec(port);
        if (spec is not null && operationTimeoutSec != 0) spec = spec with { TimeoutMs = operationTimeoutSec * 1000 };
        return spec;
    }

    /// <summary>Yields the targets; a temporary session that cannot be made is written as an error.</summary>
    internal static IEnumerable<CimTarget> Resolve(PSCmdlet cmdlet, CimSession[]? sessions, CimSession? origin, string[]? computers,
        NativeCimSessionOptions? options, CimCredential? credential)
    {
        if (sessions is not null)
        {
            foreach (CimSession s in sessions) yield return new CimTarget(s, s.Native, s.ComputerName, false);
            yield break;
        }
        if (computers is null && origin is not null)
        {
            if (!origin.Native.IsRemoved)
            {
                yield return new CimTarget(origin, origin.Native, origin.ComputerName, false);
                yield break;
            }
            // The origin is gone: a temporary session to its computer (spec §1.9).
            if (origin.Native.Protocol == "WSMAN") computers = [origin.ComputerName];
        }
        foreach (string? computer in (string?[]?)computers ?? [null])
        {
            NativeCimSession native;
            try
            {
                native = computer is null
                    ? RunspaceSessions.Temporary.NewSession()
                    : RunspaceSessions.Temporary.NewSession(computer, null, options, credential, skipTestConnection: true);
            }
            catch (RemoteSessionsException e)
            {
                cmdlet.WriteError(CimErrors.FromNative(e, computer));
                continue;
            }
            yield return new CimTarget(null, native, computer, true);
        }
    }

    /// <summary>Removes and frees a temporary session.</summary>
    internal static void Release(CimTarget target)
    {
        if (!target.Temporary) return;
        try { RunspaceSessions.Temporary.Remove(target.Native); }
        catch (RemoteSessionsException) { }
        target.Native.Dispose();
    }

    /// <summary>The instances an instance cmdlet works on: the input instance, or what the query returns.</summary>
    internal static IEnumerable<CimInstance> Instances(NativeCimSession session, CimInstance? input, string? ns, string? query, string? dialect, CancellationToken cancel)
    {
        if (input is not null)
        {
            yield return input;
            yield break;
        }
        foreach (CimInstanceData data in session.Query(ns ?? @"root\cimv2", dialect ?? "WQL", query!, OperationFlags.None, cancel))
            yield return new CimInstance(data, null, session);
    }

    /// <summary>The key values of an instance as the native library reads key text.</summary>
    /// <exception cref="RemoteSessionsException">InvalidArgument when the instance has no key with a value.</exception>
    internal static (string Name, string Value)[] Keys(CimInstance instance)
    {
        var keys = instance.CimInstanceProperties
            .Where(p => (p.Flags & CimFlags.Key) != 0 && p.Value is not null)
            .Select(p => (p.Name, CimValues.Format(p.Value).Texts.FirstOrDefault() ?? ""))
            .ToArray();
        if (keys.Length == 0)
            throw new RemoteSessionsException(ResultCode.InvalidArgument, $"The instance {instance} has no key properties to find it by.");
        return keys;
    }
}
