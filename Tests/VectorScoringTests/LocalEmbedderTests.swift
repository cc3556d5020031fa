import Testing
@testable import VectorScoring

@Suite("LocalEmbedder")
struct LocalEmbedderTests {
    static let pythonJob = (
        text: """
            Senior Backend Engineer. You will design and build scalable REST APIs in Python with Django, \
            run PostgreSQL in production and deploy services with Docker on AWS.
            """,
        skills: ["Python", "Django", "PostgreSQL", "Docker", "AWS"])
    static let pythonCandidate = (
        text: """
            Backend developer with six years of Python experience: Django and Flask web services, PostgreSQL \
            schema design, Docker-based deployments to AWS.
            """,
        skills: ["Python", "Django", "Flask", "PostgreSQL", "Docker"])
    static let nurse = (
        text: """
            Registered nurse for a busy hospital ward: patient assessment, medication administration, wound \
            care and close collaboration with physicians on night shifts.
            """,
        skills: ["Patient Care", "Medication Administration", "Wound Care"])

    @Test("the same input gives the same vector, across instances and in batches")
    func deterministic() throws {
        let a = LocalEmbedder().embed(Self.pythonJob.text, skills: Self.pythonJob.skills)
        let b = LocalEmbedder().embed(Self.pythonJob.text, skills: Self.pythonJob.skills)
        #expect(a == b)
        let inputs = (0..<300).map { i in i % 2 == 0 ? Self.pythonJob : Self.nurse }
        let batch = LocalEmbedder().embed(batch: inputs)
        #expect(batch.count == 300)
        #expect(batch[0] == a)
        #expect(batch[299] == LocalEmbedder().embed(Self.nurse.text, skills: Self.nurse.skills))
    }

    @Test("vectors have the requested dimension and unit length; empty text gives a zero vector")
    func normalised() throws {
        for dimension in [384, 64, 1_000] {
            let v = LocalEmbedder(dimension: dimension).embed(Self.nurse.text)
            #expect(v.dimension == dimension)
            #expect(abs(v.norm - 1) < 1e-5)
        }
        #expect(LocalEmbedder().embed("").norm == 0)
        #expect(LocalEmbedder().embed("  -- !! ").norm == 0)
        #expect(abs(LocalEmbedder().embed("", skills: ["Go"]).norm - 1) < 1e-5)
    }

    @Test("texts sharing skills score higher than unrelated ones", arguments: [384, 96])
    func similarity(dimension: Int) throws {
        let e = LocalEmbedder(dimension: dimension)
        let job = e.embed(Self.pythonJob.text, skills: Self.pythonJob.skills)
        let candidate = e.embed(Self.pythonCandidate.text, skills: Self.pythonCandidate.skills)
        let nurse = e.embed(Self.nurse.text, skills: Self.nurse.skills)
        let related = try VectorMath.cosine(job, candidate), unrelated = try VectorMath.cosine(job, nurse)
        #expect(related > 0.3)
        #expect(related > unrelated + 0.25)
        if dimension == 384 { #expect(abs(unrelated) < 0.15) }
        // Skills alone carry the match.
        #expect(try VectorMath.cosine(e.embed("", skills: ["Python", "Django"]), e.embed("", skills: ["python", "django"])) > 0.99)
    }

    @Test("C++, C#, .NET and node.js stay whole tokens; punctuation and case are dropped")
    func tokens() throws {
        #expect(TextTokenizer.tokens("C++ and C#, .NET / Node.js; F# g++.") == ["c++", "and", "c#", ".net", "node.js", "f#", "g++"])
        #expect(TextTokenizer.tokens("CI/CD full-time (Python). e.g. 3.5 years") == ["ci", "cd", "full", "time", "python", "e.g", "3.5", "years"])
        #expect(TextTokenizer.tokens("Café Zürich") == ["café", "zürich"])
        #expect(TextTokenizer.tokens("") == [])
    }

    @Test("C++ and C# are distinct features")
    func cppAndCSharp() throws {
        let e = LocalEmbedder()
        #expect(try VectorMath.cosine(e.embed("C++"), e.embed("C#")) < 0.3)
        #expect(try VectorMath.cosine(e.embed("", skills: ["C++"]), e.embed("", skills: ["C#"])) < 0.3)
        #expect(try VectorMath.cosine(e.embed("C++ developer"), e.embed("c++ DEVELOPER")) > 0.999)
    }

    @Test("word forms meet through character trigrams (weakly: the words themselves differ)")
    func trigrams() throws {
        let e = LocalEmbedder()
        let developer = e.embed("developer")
        let related = try VectorMath.cosine(developer, e.embed("development"))
        #expect(related > 0.08)
        #expect(try related > VectorMath.cosine(developer, e.embed("nurse")) + 0.08)
    }

    @Test("stop words do not make unrelated texts similar; an all-caps IT is kept")
    func stopWords() throws {
        let e = LocalEmbedder()
        #expect(e.embed("the and of to in with for").norm == 0)
        #expect(e.embed("IT").norm > 0)
    }

    @Test("the natural log used for sublinear tf is accurate")
    func log() throws {
        #expect(abs(FeatureCounter.logApprox(1)) < 1e-12)
        #expect(abs(FeatureCounter.logApprox(2.718281828459045) - 1) < 1e-9)
        #expect(abs(FeatureCounter.logApprox(1_000) - 6.907755278982137) < 1e-9)
    }

    @Test("a very long text grows the feature table and stays deterministic")
    func longText() throws {
        let words = (0..<20_000).map { "word\($0)" }.joined(separator: " ")
        let a = LocalEmbedder().embed(words), b = LocalEmbedder().embed(words)
        #expect(a == b)
        #expect(abs(a.norm - 1) < 1e-5)
    }
}
