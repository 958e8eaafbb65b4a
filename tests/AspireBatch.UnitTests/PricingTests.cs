using AspireBatch.Data.Domain;

namespace AspireBatch.UnitTests;

public sealed class PricingTests
{
    [Theory]
    [InlineData(1_000_000, 0, 0.42, 0.42, 0.42)]
    [InlineData(500_000, 250_000, 8, 8, 6)]
    [InlineData(0, 0, 15, 15, 0)]
    public void Cost_is_tokens_times_price_per_million(long input, long output, double inPrice, double outPrice, double expected) =>
        Assert.Equal((decimal)expected, Pricing.Cost(input, output, (decimal)inPrice, (decimal)outPrice));
}
