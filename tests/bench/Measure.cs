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
    /// Medians of <paramref name="rounds"/> runs each of <paramref name="a"/> and <paramref name="b"/>,
    /// taken in turns (a, b, a, b, …) after <paramref name="warmUp"/> runs of each, so neither gains from
    /// running later (the JIT's tiering, warm caches) and both see the same machine load.
    /// </summary>
    public static (double A, double B) MedianPair(int rounds, Func<double> a, Func<double> b, int warmUp = 3)
    {
        for (int i = 0; i < warmUp; i++)
        {
            a();
            b();
        }
        var sa = new double[rounds];
        var sb = new double[rounds];
        for (int i = 0; i < rounds; i++)
        {
            sa[i] = a();
            sb[i] = b();
        }
        Array.Sort(sa);
        Array.Sort(sb);
        return (sa[rounds / 2], sb[rounds / 2]);
    }

    /// <summary>
    /// Prints a figure as the ratio of <paramref name="ms"/> to a baseline measured in the same run, with
    /// the goal for that ratio (e.g. <c>≤ 1.2x</c>) when there is one.
    /// </summary>
    public static void Report(string what, double ms, string baselineName, double baselineMs, string? goal = null) =>
        Console.WriteLine($"{what}: {ms:F2} ms; baseline ({baselineName}): {baselineMs:F2} ms; ratio {ms / baselineMs:F2}x" +
            (goal is null ? "" : $"; goal {goal}"));
}
