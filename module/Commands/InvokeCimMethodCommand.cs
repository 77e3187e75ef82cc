using System.Collections;
using System.Management.Automation;
using RemoteSessions.Native;

namespace RemoteSessions.Commands;

/// <summary>
/// Invoke-CimMethod (spec/cmdlet-behaviour.md §1.8): calls a static method of a class, or a method of
/// each instance given (-InputObject, or those a -Query returns), on the given sessions, on temporary
/// sessions to -ComputerName, or on this machine. Each result is a <c>CimMethodResult</c>-like object
/// with <c>ReturnValue</c>, the out-parameters and <c>PSComputerName</c>. A failure on one target is a
/// non-terminating error and the others go on.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "CimMethod", DefaultParameterSetName = ClassNameComputerSet, SupportsShouldProcess = true)]
[Alias("icim")]
[OutputType(typeof(PSObject))]
public sealed class InvokeCimMethodCommand : CimOperationCommand
{
    private const string ClassNameComputerSet = "ClassNameComputerSet";
    private const string ClassNameSessionSet = "ClassNameSessionSet";
    private const string CimInstanceComputerSet = "CimInstanceComputerSet";
    private const string CimInstanceSessionSet = "CimInstanceSessionSet";
    private const string QueryComputerSet = "QueryComputerSet";
    private const string QuerySessionSet = "QuerySessionSet";

    [Parameter(ParameterSetName = ClassNameComputerSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = ClassNameSessionSet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Class")]
    public string? ClassName { get; set; }

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

    [Parameter(ParameterSetName = ClassNameSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = CimInstanceSessionSet, Mandatory = true, ValueFromPipeline = true)]
    [Parameter(ParameterSetName = QuerySessionSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = ClassNameComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = CimInstanceComputerSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = QueryComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    /// <summary>The method's in-parameters: name → value.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public IDictionary? Arguments { get; set; }

    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    public string? MethodName { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    private const string DefaultNamespace = @"root\cimv2";

    protected override void ProcessRecord()
    {
        var arguments = (Arguments?.Cast<DictionaryEntry>() ?? [])
            .Select(e => (e.Key.ToString() ?? "", e.Value is PSObject p ? p.BaseObject : e.Value))
            .ToArray();
        foreach (CimTarget target in Targets(CimSession, InputObject, ComputerName))
        {
            try
            {
                foreach ((string ns, string className, (string, string)[] keys, object shown) in Calls(target.Native))
                {
                    if (!ShouldProcess(shown.ToString(), $"Invoke-CimMethod: {MethodName}")) continue;
                    CimInstanceData result = target.Native.Invoke(ns, className, keys, MethodName!, arguments, Cancel);
                    WriteObject(Result(result, className, target.Native.ComputerName));
                }
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, InputObject?.ToString() ?? ClassName ?? Query, target);
            }
            finally
            {
                CimTargets.Release(target);
            }
        }
    }

    // What to call on one session: the class (static), the input instance, or each instance of the query.
    private IEnumerable<(string Namespace, string ClassName, (string, string)[] Keys, object Shown)> Calls(NativeCimSession session)
    {
        string ns = Namespace ?? DefaultNamespace;
        switch (ParameterSetName)
        {
            case CimInstanceComputerSet or CimInstanceSessionSet:
                yield return (Namespace ?? InputObject!.CimSystemProperties.Namespace, InputObject!.CimSystemProperties.ClassName, CimTargets.Keys(InputObject), InputObject);
                break;
            case QueryComputerSet or QuerySessionSet:
                foreach (CimInstance instance in CimTargets.Instances(session, null, ns, Query, QueryDialect, Cancel))
                    yield return (instance.CimSystemProperties.Namespace, instance.CimSystemProperties.ClassName, CimTargets.Keys(instance), instance);
                break;
            default:
                yield return (ns, ClassName!.Trim(), [], ClassName!.Trim());
                break;
        }
    }

    // spec §1.8: a note property per out-parameter (ReturnValue among them) and PSComputerName; type names
    // CimMethodResult#<Class>#<Method>, then CimMethodResult.
    private PSObject Result(CimInstanceData result, string className, string computer)
    {
        var o = new PSObject();
        o.TypeNames.Clear();
        o.TypeNames.Add($"Microsoft.Management.Infrastructure.CimMethodResult#{className}#{MethodName}");
        o.TypeNames.Add("Microsoft.Management.Infrastructure.CimMethodResult");
        foreach (CimPropertyData p in result.Properties) o.Properties.Add(new PSNoteProperty(p.Name, p.Value));
        o.Properties.Add(new PSNoteProperty("PSComputerName", computer));
        return o;
    }
}
