package sourced.esanalysis;

import java.util.Map;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.AbstractTokenizerFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * Supplies the analysis components of Elasticsearch's analysis-common module
 * that the {@code .security} system index needs, for the integ-test
 * distribution that realstack runs, which has no analysis-common.
 *
 * <p>The index's "email" analyzer is the {@code uax_url_email} tokenizer with
 * the filters {@code pattern_capture} (named "email", preserve_original, four
 * patterns), {@code lowercase} (in the server already) and {@code unique}.
 * Without them the index cannot be created, and with it go API keys and
 * native users. The tokenizer and {@code pattern_capture} are Lucene classes
 * from lucene-analysis-common, which the distribution's lib/ holds; only
 * {@code unique} is Elasticsearch's own, re-implemented in
 * {@link UniqueTokenFilter}. Settings are read as analysis-common reads them.
 * Never install this beside analysis-common: the names would clash.
 */
public class SourcedAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "pattern_capture", AnalysisPlugin.requiresAnalysisSettings(PatternCaptureFactory::new),
            "unique", UniqueFactory::new
        );
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of("uax_url_email", UaxUrlEmailFactory::new);
    }

    /** pattern_capture: patterns (a list of regexes), preserve_original (default true). */
    static final class PatternCaptureFactory extends AbstractTokenFilterFactory {
        private final Pattern[] patterns;
        private final boolean preserveOriginal;

        PatternCaptureFactory(IndexSettings index, org.elasticsearch.env.Environment env, String name, Settings settings) {
            super(name, settings);
            this.patterns = settings.getAsList("patterns").stream().map(Pattern::compile).toArray(Pattern[]::new);
            if (patterns.length == 0) {
                throw new IllegalArgumentException("pattern_capture [" + name + "] needs at least one of [patterns]");
            }
            this.preserveOriginal = settings.getAsBoolean("preserve_original", true);
        }

        @Override
        public TokenStream create(TokenStream in) {
            return new PatternCaptureGroupTokenFilter(in, preserveOriginal, patterns);
        }
    }

    /** unique: only_on_same_position (default false). */
    static final class UniqueFactory extends AbstractTokenFilterFactory {
        private final boolean onlyOnSamePosition;

        UniqueFactory(IndexSettings index, org.elasticsearch.env.Environment env, String name, Settings settings) {
            super(name, settings);
            this.onlyOnSamePosition = settings.getAsBoolean("only_on_same_position", false);
        }

        @Override
        public TokenStream create(TokenStream in) {
            return onlyOnSamePosition ? new RemoveDuplicatesTokenFilter(in) : new UniqueTokenFilter(in);
        }
    }

    /** uax_url_email: max_token_length (default 255). */
    static final class UaxUrlEmailFactory extends AbstractTokenizerFactory {
        private final int maxTokenLength;

        UaxUrlEmailFactory(IndexSettings index, org.elasticsearch.env.Environment env, String name, Settings settings) {
            super(index, settings, name);
            this.maxTokenLength = settings.getAsInt("max_token_length", StandardAnalyzer.DEFAULT_MAX_TOKEN_LENGTH);
        }

        @Override
        public Tokenizer create() {
            UAX29URLEmailTokenizer t = new UAX29URLEmailTokenizer();
            t.setMaxTokenLength(maxTokenLength);
            return t;
        }
    }
}
