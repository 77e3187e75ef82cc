using System.Collections;
using System.Management.Automation;
using RemoteSessions.Native;
using RemoteSessions;
using RemoteSessions.Commands;

// The namespace of Windows' CimCmdlets: a FullyQualifiedErrorId ends in the cmdlet type's full name, so
// scripts that match Windows' ids (`Should -Throw -ErrorId`, catch filters) match these too.
namespace Microsoft.Management.Infrastructure.CimCmdlets;

// Inside this namespace Microsoft.Management.Infrastructure's own types would win: these are the module's.
using CimInstance = RemoteSessions.CimInstance;
using CimSession = RemoteSessions.CimSession;

/// <summary>
/// New-CimInstance (spec/cmdlet-behaviour.md §1.8): creates an instance of -ClassName with -Property over
/// WS-Management (WS-Transfer Create) and writes it as the server then has it; with -ClientOnly only
/// builds the instance in memory (keys flagged by -Key) without contacting a server.
/// </summary>
[Cmdlet(VerbsCommon.New, "CimInstance", DefaultParameterSetName = ClassNameComputerSet, SupportsShouldProcess = true)]
[Alias("ncim")]
[OutputType(typeof(CimInstance))]
public sealed class NewCimInstanceCommand : CimOperationCommand
{
    private const string ClassNameComputerSet = "ClassNameComputerSet";
    private const string ClassNameSessionSet = "ClassNameSessionSet";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? ClassName { get; set; }

    /// <summary>Names of the key properties (for -ClientOnly instances and their later use).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? Key { get; set; }

    /// <summary>The new instance's properties: name → value.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Arguments")]
    public IDictionary? Property { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    [Parameter(ParameterSetName = ClassNameSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    /// <summary>Build the instance in memory only.</summary>
    [Parameter(ParameterSetName = ClassNameComputerSet)]
    [Alias("Local")]
    public SwitchParameter ClientOnly { get; set; }

    private const string DefaultNamespace = @"root\cimv2";

    protected override void ProcessRecord()
    {
        string className = ClassName!.Trim();
        string ns = Namespace ?? DefaultNamespace;
        var properties = (Property?.Cast<DictionaryEntry>() ?? [])
            .Select(e => (Name: e.Key.ToString() ?? "", Value: CimArguments.ToNative(e.Value)))
            .ToArray();
        if (ClientOnly)
        {
            WriteObject(new CimInstance(ClientInstance(ns, className, properties), null).ToPSObject("", false, false));
            return;
        }
        foreach (CimTarget target in Targets(CimSession, null, ComputerName))
        {
            try
            {
                if (!ShouldProcess($"{className} on {target.Native.ComputerName}", "New-CimInstance")) continue;
                CimInstanceData created = target.Native.CreateInstance(ns, className, properties, Cancel);
                WriteObject(new CimInstance(created, target.Session, target.Native).ToPSObject(target.Native.ComputerName, false, true));
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, className, target);
            }
            catch (OperationCanceledException) when (StopRequested)
            {
                // Ctrl+C: the operation stopped as asked; nothing to report.
            }
            finally
            {
                CimTargets.Release(target);
            }
        }
    }

    private CimInstanceData ClientInstance(string ns, string className, (string Name, object? Value)[] properties)
    {
        var props = properties
            .Select(p => new CimPropertyData(p.Name, CimValues.Format(p.Value).Type, Key?.Contains(p.Name, StringComparer.OrdinalIgnoreCase) ?? false, p.Value))
            .ToList();
        return new CimInstanceData(className, ns.Replace('\\', '/'), "", [], props);
    }
}
