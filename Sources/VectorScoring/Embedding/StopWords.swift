/// English function words, dropped before features are made: without corpus statistics (no IDF) they
/// would be the largest shared features of any two texts and pull unrelated postings together.
/// Matched by FNV-1a hash of the lowercased token (a 64-bit collision with a real word is negligible).
enum StopWords {
    static let words = """
        a an the and or but nor if then else of to in on at by for with from as into onto about over under \
        is are was were be been being am do does did doing have has had having will would can could should \
        may might must shall this that these those it its itself we our ours us you your yours they their \
        them he him his she her i me my mine who whom whose which what when where why how all any each \
        every both either neither some such other another no not only own same so than too very just also \
        more most less least up down out off again further once here there per via etc e.g i.e within \
        across including include includes well new s t
        """

    static let hashes: Set<UInt64> = Set(words.split(separator: " ").map { word in
        Array(word.utf8).withUnsafeBufferPointer { FeatureHash.fnv1a($0) }
    })
}
