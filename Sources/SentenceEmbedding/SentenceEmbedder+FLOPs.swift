extension SentenceEmbedder {
    /// Floating-point operations (a multiply-add counts 2) the encoder spends on sequences of these token counts: per
    /// token and layer the four products (2·h·3h + 2·h·h + 2·h·i + 2·i·h), and per sequence and layer attention's two
    /// products (2 · 2 · n² · h). Layer norms, softmax and GELU are left out (under 2 %). For "how close to peak".
    public func flops(tokenCounts: [Int]) -> Double {
        let h = Double(config.hiddenSize), i = Double(config.intermediateSize), layers = Double(config.layers)
        let perToken = 2 * h * 3 * h + 2 * h * h + 4 * h * i
        return tokenCounts.reduce(0) { total, n in
            let n = Double(n)
            return total + layers * (n * perToken + 4 * n * n * h)
        }
    }
}
