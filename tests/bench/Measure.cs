namespace RemoteSessions.Bench;

/// <summary>How the benchmark measures and prints: medians of rounds, one line per figure.</summary>
public static class Measure
{
    /// <summary>The median of <paramref name="rounds"/> runs of <paramref name="measure"/>, after one warm-up run.</summary>
    public static double Median(int rounds, Func<double> measure)
    {
        measure(); // warm-up
        var samples = Enumerable.Range(0, rounds).Select(_ => measure()).Order().ToArray();
        return samples[samples.Length / 2];
    }

    /// <summary>
    /// Prints a figure as the ratio of <paramref name="ms"/> to a baseline measured in the same run, with
    /// the goal for that ratio (e.g. <c>≤ 1.2x</c>) when there is one.
    /// </summary>
    public static void Report(string what, double ms, string baselineName, double baselineMs, string? goal = null) =>
        Console.WriteLine($"{what}: {ms:F2} ms; baseline ({baselineName}): {baselineMs:F2} ms; ratio {ms / baselineMs:F2}x" +
            (goal is null ? "" : $"; goal {goal}"));
}
