using System.Buffers.Binary;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Data.Domain;

/// <summary>
/// Vectors as stored: float32 little-endian, one after the other, all of one size. That is 4 bytes a value (a
/// 1,536-value vector is 6 KB against about 20 KB as JSON text) and exactly what OpenAI's base64 encoding encodes.
/// </summary>
public static class Embeddings
{
    private const int HeadValues = 8;

    public static byte[] Pack(IReadOnlyList<float[]> vectors)
    {
        var dimensions = vectors.Count == 0 ? 0 : vectors[0].Length;
        var bytes = new byte[vectors.Count * dimensions * sizeof(float)];
        var offset = 0;
        foreach (var vector in vectors)
        {
            if (vector.Length != dimensions)
            {
                throw new ArgumentException($"vectors of different sizes ({vector.Length} and {dimensions}) cannot be stored together");
            }
            foreach (var value in vector)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(offset), value);
                offset += sizeof(float);
            }
        }
        return bytes;
    }

    /// <summary>The stored bytes as vectors of <paramref name="dimensions"/> values.</summary>
    public static float[][] Unpack(byte[] bytes, int dimensions)
    {
        if (dimensions <= 0 || bytes.Length % (dimensions * sizeof(float)) != 0)
        {
            throw new ArgumentException($"{bytes.Length} bytes do not hold whole vectors of {dimensions} values");
        }
        var count = bytes.Length / (dimensions * sizeof(float));
        var vectors = new float[count][];
        for (var v = 0; v < count; v++)
        {
            vectors[v] = new float[dimensions];
            for (var d = 0; d < dimensions; d++)
            {
                vectors[v][d] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((v * dimensions + d) * sizeof(float)));
            }
        }
        return vectors;
    }

    /// <summary>A vector as OpenAI's base64 encoding_format sends it: its float32 little-endian bytes.</summary>
    public static float[] FromBase64(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        if (bytes.Length % sizeof(float) != 0)
        {
            throw new FormatException($"{bytes.Length} bytes are not a whole number of float32 values");
        }
        var vector = new float[bytes.Length / sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        }
        return vector;
    }

    public static string ToBase64(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        }
        return Convert.ToBase64String(bytes);
    }

    /// <summary>Writes a vector as a JSON array of numbers, each float written as its shortest round-trip form.</summary>
    public static void WriteArray(Utf8JsonWriter json, float[] vector)
    {
        json.WriteStartArray();
        foreach (var value in vector)
        {
            json.WriteNumberValue(value);
        }
        json.WriteEndArray();
    }

    /// <summary>What the item drawer shows of a record's vectors; null for a record without any.</summary>
    public static EmbeddingDto? Describe(byte[]? bytes, int? dimensions)
    {
        if (bytes is null || dimensions is not > 0)
        {
            return null;
        }
        var vectors = Unpack(bytes, dimensions.Value);
        var first = vectors.Length > 0 ? vectors[0] : [];
        var norm = Math.Sqrt(first.Sum(v => (double)v * v));
        return new EmbeddingDto(vectors.Length, dimensions.Value, first.Take(HeadValues).ToArray(), norm);
    }
}
