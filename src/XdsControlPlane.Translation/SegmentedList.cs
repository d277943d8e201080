using System.Collections;

namespace XdsControlPlane.Translation;

/// <summary>A read-only list made of other lists without copying them (translation results share their parts).</summary>
internal sealed class SegmentedList<T> : IReadOnlyList<T>
{
    private readonly IReadOnlyList<T>[] _segments;
    private readonly int[] _starts;

    public SegmentedList(params IReadOnlyList<T>[] segments)
    {
        _segments = segments;
        _starts = new int[segments.Length];
        for (var i = 0; i < segments.Length; i++)
        {
            _starts[i] = Count;
            Count += segments[i].Count;
        }
    }

    public int Count { get; }

    public T this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            var segment = Array.BinarySearch(_starts, index);
            if (segment < 0)
            {
                segment = ~segment - 1;
            }

            // Skip empty segments that start at the same index.
            while (_segments[segment].Count <= index - _starts[segment])
            {
                segment++;
            }

            return _segments[segment][index - _starts[segment]];
        }
    }

    public IEnumerator<T> GetEnumerator()
    {
        foreach (var segment in _segments)
        {
            foreach (var item in segment)
            {
                yield return item;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
