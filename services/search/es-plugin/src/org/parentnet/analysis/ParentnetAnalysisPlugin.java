package org.parentnet.analysis;

import java.io.Reader;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicNormalizationFilter;
import org.apache.lucene.analysis.ar.ArabicStemFilter;
import org.apache.lucene.analysis.bn.BengaliNormalizationFilter;
import org.apache.lucene.analysis.bn.BengaliStemFilter;
import org.apache.lucene.analysis.core.DecimalDigitFilter;
import org.apache.lucene.analysis.es.SpanishLightStemFilter;
import org.apache.lucene.analysis.fa.PersianNormalizationFilter;
import org.apache.lucene.analysis.icu.ICUFoldingFilter;
import org.apache.lucene.analysis.icu.ICUNormalizer2CharFilter;
import org.apache.lucene.analysis.icu.ICUNormalizer2Filter;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.fr.FrenchLightStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.util.ElisionFilter;
import com.ibm.icu.text.Normalizer2;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.CharFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The language-aware token filters Parentnet's search indices use, for an Elasticsearch
 * without the analysis-common module (the integration-test distribution). The names and
 * settings are those of analysis-common and of Elastic's analysis-icu plugin, so the same
 * index settings work on a full distribution with analysis-icu, where this plugin is not
 * installed. Unicode normalization and folding come from Lucene's ICU module (ICU4J), not
 * from code of ours.
 */
public class ParentnetAnalysisPlugin extends Plugin implements AnalysisPlugin {

    /** A token filter factory from a name and a function of the stream. */
    static final class Filter implements TokenFilterFactory {
        // Filters that change characters one by one (no stemming): they also apply when a
        // keyword or a prefix/fuzzy query's term is normalized.
        private static final Set<String> NORMALIZING = Set.of(
            "cjk_width", "asciifolding", "icu_normalizer", "icu_folding", "arabic_normalization",
            "persian_normalization", "bengali_normalization", "decimal_digit");
        private final String name;
        private final String kind;
        private final Function<TokenStream, TokenStream> wrap;

        Filter(String name, Function<TokenStream, TokenStream> wrap) {
            this(name, name, wrap);
        }

        Filter(String name, String kind, Function<TokenStream, TokenStream> wrap) {
            this.name = name;
            this.kind = kind;
            this.wrap = wrap;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public TokenStream create(TokenStream input) {
            return wrap.apply(input);
        }

        @Override
        public TokenStream normalize(TokenStream input) {
            return NORMALIZING.contains(kind) ? wrap.apply(input) : input;
        }
    }

    private static final List<String> FRENCH_ARTICLES = List.of(
        "l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu");

    static TokenFilterFactory stemmer(String name, Settings settings) {
        String language = settings.get("language", "");
        switch (language) {
            case "light_french":
                return new Filter(name, FrenchLightStemFilter::new);
            case "minimal_english":
                return new Filter(name, EnglishMinimalStemFilter::new);
            case "light_spanish":
                return new Filter(name, SpanishLightStemFilter::new);
            default:
                throw new IllegalArgumentException("stemmer [" + name
                    + "]: language must be light_french, minimal_english or light_spanish, not [" + language + "]");
        }
    }

    static TokenFilterFactory elision(String name, Settings settings) {
        List<String> articles = settings.getAsList("articles", FRENCH_ARTICLES);
        boolean ignoreCase = settings.getAsBoolean("articles_case", true);
        CharArraySet set = new CharArraySet(articles, ignoreCase);
        return new Filter(name, input -> new ElisionFilter(input, set));
    }

    /** analysis-icu's settings: {@code name} nfc, nfkc or nfkc_cf (the default), {@code mode} compose or decompose. */
    static Normalizer2 normalizer(Settings settings) {
        String form = settings.get("name", "nfkc_cf");
        String mode = settings.get("mode", "compose");
        if (!Set.of("nfc", "nfkc", "nfkc_cf").contains(form) || !Set.of("compose", "decompose").contains(mode)) {
            throw new IllegalArgumentException("icu_normalizer: name must be nfc, nfkc or nfkc_cf and mode compose or decompose");
        }
        return Normalizer2.getInstance(
            null, form, mode.equals("compose") ? Normalizer2.Mode.COMPOSE : Normalizer2.Mode.DECOMPOSE);
    }

    /** A char filter: normalizes text before the tokenizer sees it. */
    static CharFilterFactory charNormalizer(String name, Settings settings) {
        Normalizer2 form = normalizer(settings);
        return new CharFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Reader create(Reader reader) {
                return new ICUNormalizer2CharFilter(reader, form);
            }

            @Override
            public Reader normalize(Reader reader) {
                return create(reader);
            }
        };
    }

    @Override
    public Map<String, AnalysisProvider<CharFilterFactory>> getCharFilters() {
        return Map.of("icu_normalizer", (index, env, name, settings) -> charNormalizer(name, settings));
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.ofEntries(
            Map.entry("cjk_bigram", (index, env, name, settings) -> new Filter(name, "cjk_bigram", CJKBigramFilter::new)),
            Map.entry("cjk_width", (index, env, name, settings) -> new Filter(name, "cjk_width", CJKWidthFilter::new)),
            Map.entry("asciifolding", (index, env, name, settings) -> new Filter(name, "asciifolding", ASCIIFoldingFilter::new)),
            Map.entry("icu_normalizer", (index, env, name, settings) -> {
                Normalizer2 form = normalizer(settings);
                return new Filter(name, "icu_normalizer", input -> new ICUNormalizer2Filter(input, form));
            }),
            Map.entry("icu_folding", (index, env, name, settings) -> new Filter(name, "icu_folding", ICUFoldingFilter::new)),
            Map.entry("arabic_normalization",
                (index, env, name, settings) -> new Filter(name, "arabic_normalization", ArabicNormalizationFilter::new)),
            Map.entry("arabic_stem", (index, env, name, settings) -> new Filter(name, "arabic_stem", ArabicStemFilter::new)),
            Map.entry("persian_normalization",
                (index, env, name, settings) -> new Filter(name, "persian_normalization", PersianNormalizationFilter::new)),
            Map.entry("bengali_normalization",
                (index, env, name, settings) -> new Filter(name, "bengali_normalization", BengaliNormalizationFilter::new)),
            Map.entry("bengali_stem", (index, env, name, settings) -> new Filter(name, "bengali_stem", BengaliStemFilter::new)),
            Map.entry("decimal_digit", (index, env, name, settings) -> new Filter(name, "decimal_digit", DecimalDigitFilter::new)),
            Map.entry("elision", AnalysisPlugin.requiresAnalysisSettings((index, env, name, settings) -> elision(name, settings))),
            Map.entry("stemmer", AnalysisPlugin.requiresAnalysisSettings((index, env, name, settings) -> stemmer(name, settings)))
        );
    }
}
