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
using CimSystemProperties = RemoteSessions.CimSystemProperties;

/// <summary>
/// Set-CimInstance (spec/cmdlet-behaviour.md §1.8): changes each instance given (-InputObject) or
/// returned by a -Query to its properties with -Property applied, over WS-Management (WS-Transfer Put);
/// with -PassThru writes the instance as the server then has it.
/// </summary>
[Cmdlet(VerbsCommon.Set, "CimInstance", DefaultParameterSetName = CimInstanceComputerSet, SupportsShouldProcess = true)]
[Alias("scim")]
[OutputType(typeof(CimInstance))]
public sealed class SetCimInstanceCommand : CimOperationCommand
{
    private const string CimInstanceComputerSet = "CimInstanceComputerSet";
    private const string CimInstanceSessionSet = "CimInstanceSessionSet";
    private const string QueryComputerSet = "QueryComputerSet";
    private const string QuerySessionSet = "QuerySessionSet";

    [Parameter(ParameterSetName = CimInstanceComputerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("CimInstance")]
    public CimInstance? InputObject { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    public string? Query { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    public string? QueryDialect { get; set; }

    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>New property values: name → value (mandatory with -Query).</summary>
    [Parameter(ParameterSetName = CimInstanceComputerSet, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Arguments")]
    public IDictionary? Property { get; set; }

    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (CimTarget target in Targets(CimSession, InputObject?.Session, ComputerName))
        {
            try
            {
                foreach (CimInstance instance in CimTargets.Instances(target.Native, InputObject, Namespace, Query, QueryDialect, Cancel))
                {
                    if (!ShouldProcess(instance.ToString(), "Set-CimInstance")) continue;
                    CimInstanceData changed = target.Native.ModifyInstance(instance.CimSystemProperties.Namespace,
                        instance.CimSystemProperties.ClassName, CimTargets.Keys(instance), Changed(instance), Cancel);
                    if (PassThru) WriteObject(new CimInstance(changed, target.Session, target.Native).ToPSObject(target.Native.ComputerName, false, true));
                }
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, InputObject?.ToString() ?? Query, target);
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

    // The instance's properties with -Property's values put over them; names it lacks are added.
    private IEnumerable<(string Name, object? Value)> Changed(CimInstance instance)
    {
        var values = new List<(string Name, object? Value)>(instance.CimInstanceProperties.Select(p => (p.Name, p.Value)));
        foreach (DictionaryEntry e in Property?.Cast<DictionaryEntry>() ?? [])
        {
            string name = e.Key.ToString() ?? "";
            object? value = CimArguments.ToNative(e.Value);
            int i = values.FindIndex(v => v.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) values[i] = (values[i].Name, value);
            else values.Add((name, value));
        }
        return values;
    }
}
