package org.parentnet.analysis;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cjk.CJKBigramFilter;
import org.apache.lucene.analysis.cjk.CJKWidthFilter;
import org.apache.lucene.analysis.en.EnglishMinimalStemFilter;
import org.apache.lucene.analysis.fr.FrenchLightStemFilter;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The language-aware token filters Parentnet's search indices use, for an Elasticsearch
 * without the analysis-common module (the integration-test distribution). The names and
 * settings are those of analysis-common, so the same index settings work on a full
 * distribution, where this plugin is not installed.
 */
public class ParentnetAnalysisPlugin extends Plugin implements AnalysisPlugin {

    /** A token filter factory from a name and a function of the stream. */
    static final class Filter implements TokenFilterFactory {
        private final String name;
        private final Function<TokenStream, TokenStream> wrap;

        Filter(String name, Function<TokenStream, TokenStream> wrap) {
            this.name = name;
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
            // Width and accent folding also apply to keywords and query normalization.
            return name.equals("cjk_width") || name.equals("asciifolding") ? wrap.apply(input) : input;
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
            default:
                throw new IllegalArgumentException(
                    "stemmer [" + name + "]: language must be light_french or minimal_english, not [" + language + "]");
        }
    }

    static TokenFilterFactory elision(String name, Settings settings) {
        List<String> articles = settings.getAsList("articles", FRENCH_ARTICLES);
        boolean ignoreCase = settings.getAsBoolean("articles_case", true);
        CharArraySet set = new CharArraySet(articles, ignoreCase);
        return new Filter(name, input -> new ElisionFilter(input, set));
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "cjk_bigram", (index, env, name, settings) -> new Filter(name, CJKBigramFilter::new),
            "cjk_width", (index, env, name, settings) -> new Filter(name, CJKWidthFilter::new),
            "asciifolding", (index, env, name, settings) -> new Filter(name, ASCIIFoldingFilter::new),
            "elision", AnalysisPlugin.requiresAnalysisSettings((index, env, name, settings) -> elision(name, settings)),
            "stemmer", AnalysisPlugin.requiresAnalysisSettings((index, env, name, settings) -> stemmer(name, settings))
        );
    }
}
