use super::*;

fn role(text: &str) -> Option<LineRole> {
    classify(&LineInfo { text, link_chars: 0 })
}

fn linked(label: &str, link: &str) -> Option<LineRole> {
    let text = format!("{label} {link}");
    classify(&LineInfo { text: &text, link_chars: link.chars().filter(|c| !c.is_whitespace()).count() })
}

#[test]
fn teasers_in_many_languages() {
    for line in [
        "Also Read: Bengaluru Metro Yellow Line Gets Safety Nod",
        "READ MORE: Monsoon Likely To Reach Kerala",
        "ALSO READ | Rupee Gains 12 Paise",
        "Baca juga: Cara memesan tiket kapal feri",
        "Sujet a lire : Les meilleures destinations",
        "Cela peut vous intéresser : Comment choisir",
        "Lee también: India acelera la construcción",
        "Lesen Sie auch: So finden Sie günstige Bahntickets",
        "Leia também: Defesa Civil emite alerta",
        "Leggi anche: Il nuovo stadio",
        "Lees ook: Nieuwe bruggen in Utrecht",
        "Czytaj też: Nowe linie tramwajowe",
        "Читайте также: Новые правила",
        "यह भी पढ़ें: बाढ़ पीड़ितों के लिए राहत पैकेज",
        "اقرأ أيضا: خطة جديدة للنقل",
        "延伸阅读：新的铁路线",
        "» Related: Port strike ends",
    ] {
        assert_eq!(role(line), Some(LineRole::Teaser), "{line}");
    }
    assert_eq!(linked("À lire aussi", "Orages : les conseils pour se protéger"), Some(LineRole::Teaser));
}

#[test]
fn sentences_that_start_like_boilerplate_stay() {
    for line in [
        "\"Read also the report by the city auditor, which found that a third of meter revenue was spent,\" one said.",
        "Baca juga aturan baru yang diterbitkan kementerian pekan lalu sebelum mengajukan izin.",
        "Lire aussi le rapport de la Cour des comptes permet de comprendre le déficit.",
        "Lesen Sie auch das Kleingedruckte, bevor Sie unterschreiben, rät die Verbraucherzentrale.",
        "Share prices rose 4 per cent after the app was approved by regulators.",
        "Follow-up inspections found 12 more violations at the plant.",
        "Published figures show 5% growth in the third quarter.",
        "Related parties must disclose their holdings, the regulator said.",
        "Con la llegada de la primavera, los precios de la fruta bajan de nuevo.",
        "Editors we spoke to defended the practice. Agency copy from PTI is already edited by the agency.",
        "On some sites it says the story has not been edited by staff and is auto-generated from a syndicated feed.",
        "This story has been updated with comments from the ministry.",
        "Edited by John Smith and published by the university press in 2021, the book won a prize.",
        "本报讯 这条新的铁路线将于2026年通车，全程阅读时间约10分钟的报告显示投资巨大。",
    ] {
        assert_eq!(role(line), None, "{line}");
    }
}

#[test]
fn reading_time_timestamps_prompts_credits_bylines_footers() {
    let cases = [
        ("2 min read", LineRole::ReadingTime),
        ("Reading time: 4 minutes", LineRole::ReadingTime),
        ("Temps de lecture : 2 min", LineRole::ReadingTime),
        ("Lesezeit: 3 Minuten", LineRole::ReadingTime),
        ("Waktu baca: 2 menit", LineRole::ReadingTime),
        ("Updated: May 6, 2024, 09:12 IST", LineRole::Timestamp),
        ("Publié le 09/05/2024 19:42", LineRole::Timestamp),
        ("Actualizado: 12/06/2024 14:30", LineRole::Timestamp),
        ("Follow us on Google News", LineRole::Prompt),
        ("Click here to join our WhatsApp channel for the latest updates.", LineRole::Prompt),
        ("Subscribe to our newsletter for daily updates.", LineRole::Prompt),
        ("Share this article", LineRole::Prompt),
        ("Ikuti kami di Google News", LineRole::Prompt),
        ("Suivez-nous sur Google Actualités", LineRole::Prompt),
        ("हमें गूगल न्यूज़ पर फॉलो करें", LineRole::Prompt),
        ("(With inputs from agencies)", LineRole::Credit),
        ("Avec AFP", LineRole::Credit),
        ("Mit Material von dpa", LineRole::Credit),
        ("Con información de agencias", LineRole::Credit),
        ("(AP)", LineRole::Credit),
        ("Penulis: Dedi Kurniawan | Editor: Sari Wulandari", LineRole::Byline),
        ("Reporting by Jane Doe; Editing by John Roe", LineRole::Byline),
        (
            "The post University researchers map groundwater appeared first on Agri Chronicle.",
            LineRole::FeedFooter,
        ),
        ("Artikel ini telah tayang di Kompas.com dengan judul \"Banjir\".", LineRole::FeedFooter),
    ];
    for (line, expected) in cases {
        assert_eq!(role(line), Some(expected), "{line}");
    }
}

#[test]
fn notices_by_structure_in_many_languages() {
    let unedited = [
        "(This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)",
        "(Except for the headline, this story has not been edited by Example Times staff and is published from a syndicated feed.)",
        "(Only the headline and picture of this report may have been reworked by the Business Standard staff; the rest of the content is auto-generated from a syndicated feed.)",
        "(This is an unedited and auto-generated story from Syndicated News feed, LatestLY Staff may not have modified or edited the content body)",
        "(Cerita ini belum diedit oleh staf dan dibuat secara otomatis dari feed sindikasi.)",
        "(Cette histoire n'a pas été modifiée par le personnel de NDTV et est générée automatiquement à partir d'un flux syndiqué.)",
        "(Esta historia no ha sido editada por el personal de NDTV y se genera automáticamente a partir de un feed sindicado.)",
        "(Esta notícia não foi editada pela redação e é publicada automaticamente a partir de um feed de agência.)",
        "Direkt aus dem dpa-Newskanal: Dieser Text wurde automatisch von der Deutschen Presse-Agentur (dpa) übernommen und von der SZ-Redaktion nicht bearbeitet.",
        "(इस खबर को एनडीटीवी टीम ने संपादित नहीं किया है, यह सिंडीकेट फीड से सीधे प्रकाशित की गई है।)",
        "(Questo articolo non è stato modificato dalla redazione ed è generato automaticamente da un flusso di agenzia.)",
        "(Dit artikel is niet bewerkt door de redactie en automatisch gegenereerd uit een persbureau-feed.)",
        "(Эта новость не была отредактирована редакцией и автоматически сгенерирована из ленты агентства.)",
        "(Bu haber editörlerimiz tarafından düzenlenmemiştir ve ajans akışından otomatik olarak yayınlanmıştır.)",
        "（本文未经编辑，由聚合供稿自动生成。）",
    ];
    for line in unedited {
        let f = fold(line);
        assert_eq!(notice_family(&f), Some(NoticeFamily::UneditedSyndicated), "{line}");
        assert_eq!(role(line), Some(LineRole::AutoNotice), "{line}");
    }
    for line in [
        "Dieser Text wurde automatisch generiert.",
        "This article was generated automatically from official data.",
        "This story was produced by an automated system.",
        "Artikel ini dibuat secara otomatis.",
    ] {
        assert_eq!(notice_family(&fold(line)), Some(NoticeFamily::Automated), "{line}");
    }
}

#[test]
fn a_bare_heading_makes_the_following_link_lines_teasers() {
    let lines = [
        LineInfo { text: "Related stories", link_chars: 0 },
        LineInfo { text: "Port strike ends after deal", link_chars: 24 },
        LineInfo { text: "Dockers return to work", link_chars: 19 },
        LineInfo { text: "The ministry said the port would reopen.", link_chars: 0 },
    ];
    assert_eq!(
        classify_lines(&lines).into_iter().map(|c| c.role).collect::<Vec<_>>(),
        vec![Some(LineRole::Teaser), Some(LineRole::Teaser), Some(LineRole::Teaser), None]
    );
}

#[test]
fn folding_ignores_case_accents_and_quotes() {
    assert_eq!(fold("À LIRE  Aussi’s"), "a lire aussi's");
}

/// One "unedited, from a syndicated feed" notice per language (careful translations of the NDTV
/// structure, the form content farms produce). Each must be found by structure.
const UNEDITED_BY_LANGUAGE: &[(&str, &str)] = &[
    (
        "en",
        "(This story has not been edited by Daily Example staff and is auto-generated from a syndicated feed.)",
    ),
    ("id", "(Berita ini tidak diedit oleh redaksi dan dibuat secara otomatis dari feed sindikasi.)"),
    (
        "ms",
        "(Berita ini tidak disunting oleh kakitangan kami dan dijana secara automatik daripada suapan bersindiket.)",
    ),
    (
        "fr",
        "(Cet article n'a pas été édité par la rédaction et a été généré automatiquement à partir d'un flux d'agence.)",
    ),
    (
        "es",
        "(Esta noticia no ha sido editada por la redacción y se publica automáticamente desde un teletipo de agencia.)",
    ),
    (
        "pt",
        "(Esta matéria não foi editada pela equipe e foi gerada automaticamente a partir de um feed de agência.)",
    ),
    (
        "de",
        "(Dieser Artikel wurde von der Redaktion nicht bearbeitet und automatisch aus einem Agentur-Feed übernommen.)",
    ),
    (
        "it",
        "(Questa notizia non è stata modificata dalla redazione ed è pubblicata automaticamente da un flusso d'agenzia.)",
    ),
    (
        "nl",
        "(Dit bericht is niet bewerkt door de redactie en automatisch overgenomen uit een persbureau-feed.)",
    ),
    (
        "pl",
        "(Ten artykuł nie był edytowany przez redakcję i został wygenerowany automatycznie z kanału agencji.)",
    ),
    (
        "ro",
        "(Acest articol nu a fost editat de redacția noastră și este generat automat dintr-un flux de agenție.)",
    ),
    (
        "tr",
        "(Bu haber editörlerimiz tarafından düzenlenmemiştir ve ajans akışından otomatik olarak oluşturulmuştur.)",
    ),
    ("vi", "(Bài viết này chưa được biên tập bởi tòa soạn và được tạo tự động từ nguồn cấp của hãng tin.)"),
    (
        "sw",
        "(Habari hii haijahaririwa na wahariri wetu na imetolewa kiotomatiki kutoka kwa shirika la habari.)",
    ),
    (
        "tl",
        "(Ang balitang ito ay hindi na-edit ng aming patnugot at awtomatikong nilikha mula sa feed ng ahensya.)",
    ),
    (
        "ru",
        "(Эта новость не была отредактирована редакцией и автоматически сгенерирована из ленты агентства.)",
    ),
    ("uk", "(Ця новина не була відредагована редакцією і автоматично згенерована зі стрічки агентства.)"),
    ("hi", "(इस खबर को एनडीटीवी टीम ने संपादित नहीं किया है, यह सिंडीकेट फीड से सीधे प्रकाशित की गई है।)"),
    ("bn", "(এই খবরটি আমাদের কর্মী সম্পাদনা করা হয়নি এবং সিন্ডিকেট ফিড থেকে স্বয়ংক্রিয়ভাবে তৈরি।)"),
    ("ur", "(یہ خبر ہمارے عملہ نے ایڈٹ نہیں کی اور سنڈیکیٹ فیڈ سے خود کار طور پر تیار کی گئی ہے۔)"),
    ("ar", "(هذا الخبر لم يتم تحريره من قبل فريق التحرير وتم إنشاؤه تلقائيا من خلاصة وكالة.)"),
    ("fa", "(این خبر توسط تحریریه ویرایش نشده و به صورت خودکار از فید خبرگزاری تولید شده است.)"),
    ("zh", "（本文未经编辑部编辑，由通讯社供稿自动生成。）"),
    ("ja", "（この記事は編集部によって編集されていません。通信社の配信から自動的に生成されました。）"),
    ("ko", "(이 기사는 편집국이 편집하지 않았으며 통신사 피드에서 자동 생성되었습니다.)"),
    ("th", "(ข่าวนี้ไม่ได้ผ่านการแก้ไขโดยกองบรรณาธิการ และสร้างขึ้นโดยอัตโนมัติจากฟีดสำนักข่าว)"),
];

/// One automation / AI notice per language.
const AUTOMATED_BY_LANGUAGE: &[(&str, &str)] = &[
    ("en", "This article was generated automatically from official data."),
    ("id", "Artikel ini dibuat secara otomatis oleh sistem kami."),
    ("ms", "Artikel ini dijana secara automatik."),
    ("fr", "Cet article a été généré automatiquement à partir de données publiques."),
    ("es", "Este texto fue generado automáticamente con datos oficiales."),
    ("pt", "Este conteúdo foi gerado automaticamente a partir de dados de mercado."),
    ("de", "Dieser Text wurde automatisch generiert."),
    ("it", "Questo articolo è stato generato automaticamente."),
    ("nl", "Dit artikel is automatisch gegenereerd."),
    ("pl", "Ten artykuł został wygenerowany automatycznie."),
    ("tr", "Bu haber otomatik sistem tarafından oluşturulmuştur."),
    ("ru", "Эта статья создана автоматически."),
    ("hi", "यह खबर स्वचालित रूप से तैयार की गई है।"),
    ("ar", "تم إنشاء هذا الخبر تلقائيا."),
    ("zh", "本文由AI生成，仅供参考。"),
    ("ja", "この記事は自動生成されたものです"),
    ("ko", "본 기사는 로봇기자가 자동 생성한 기사입니다."),
];

#[test]
fn unedited_family_in_every_documented_language() {
    let mut missed = Vec::new();
    for (lang, line) in UNEDITED_BY_LANGUAGE {
        if find_notice(line).map(|n| n.family) != Some(NoticeFamily::UneditedSyndicated) {
            missed.push(format!("{lang}: {line}"));
        }
    }
    assert!(missed.is_empty(), "not found:\n{}", missed.join("\n"));
    let langs: std::collections::HashSet<_> = UNEDITED_BY_LANGUAGE.iter().map(|(l, _)| l).collect();
    assert!(langs.len() >= 20);
}

#[test]
fn automated_family_in_many_languages() {
    let mut missed = Vec::new();
    for (lang, line) in AUTOMATED_BY_LANGUAGE {
        if find_notice(line).is_none() {
            missed.push(format!("{lang}: {line}"));
        }
    }
    assert!(missed.is_empty(), "not found:\n{}", missed.join("\n"));
}

#[test]
fn hard_negatives_are_not_notices() {
    for line in [
        // describing or quoting notices
        "On some sites it says the story has not been edited by staff and is auto-generated from a syndicated feed.",
        "The note reads: \"This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.\"",
        "Critics say readers rarely notice the line \"this story has not been edited by staff\" at the bottom of pages.",
        // updates, credits and human editing
        "This story has been updated with comments from the ministry.",
        "Edited by Jane Doe. This story was produced by Fresh Take Florida, a news service of the University of Florida.",
        "Esta noticia ha sido verificada por nuestro equipo editorial.",
        "(With inputs from agencies)",
        // automatic in unrelated senses
        "Cet email a été généré automatiquement. Merci de ne pas y répondre.",
        "Bu haber otomatik olarak filtrelenmiştir.",
        "この記事は自動収集システムによって保存されました。",
        "The city's new traffic lights are controlled automatically by a system that was produced locally.",
        "An earlier version of this article was assisted by an AI engine. This version has been substantially updated by a staff writer.",
    ] {
        assert_eq!(find_notice(line), None, "{line}");
    }
}

mod invariance {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whitespace, case and bracket style do not change the verdict.
        #[test]
        fn notice_detection_ignores_spacing_and_case(
            idx in 0usize..super::UNEDITED_BY_LANGUAGE.len(),
            upper: bool,
            spaces in prop::sample::select(vec![" ", "  ", "\u{a0}", " \n "]),
        ) {
            let (_, line) = super::UNEDITED_BY_LANGUAGE[idx];
            let mut variant = line.split(' ').collect::<Vec<_>>().join(spaces);
            if upper {
                variant = variant.to_uppercase();
            }
            let normalized = crate::pipeline::clean::normalize_line(&variant);
            prop_assert_eq!(find_notice(&normalized).map(|n| n.family), Some(NoticeFamily::UneditedSyndicated), "{}", normalized);
        }
    }
}

#[test]
fn catalogue_phrasings_are_found() {
    for line in [
        "Except for the headline this story has not been edited by NDTV staff and is published from syndicated feed",
        "(This story has not been edited by Devdiscourse staff and is auto-generated from a syndicated feed.)",
        "This report is auto-generated from Press Trust of India news service. ThePrint holds no responsibility for its content.",
        "This story has been published from a wire agency feed without modifications to the text. Only the headline has been changed.",
        "This story has been sourced from a third party syndicated feed, agencies. Mid-day accepts no responsibility or liability for its dependability.",
        "(Except for the headline, this article has not been edited by FPJ's editorial team and is auto-generated from a syndicated feed.)",
        "(the story has been published from a syndicated feed.)",
        "ZEIT ONLINE hat diese Meldung redaktionell nicht bearbeitet. Sie wurde automatisch von der Deutschen Presse-Agentur (dpa) übernommen.",
        "This story was generated by Automated Insights (http://automatedinsights.com/ap) using data from Zacks Investment Research.",
        "The Associated Press created this story using technology provided by Data Skrive and data from Sportradar.",
        "This article was generated by Benzinga’s automated content engine and reviewed by an editor.",
        "This information comes from the USGS Earthquake Notification Service and this post was created by an algorithm written by the author.",
        "This article was generated using automation technology, and thoroughly edited and fact-checked by an editor on our editorial staff.",
        "본 기사는 로봇저널리즘 전문지 로봇저널이 공공 API 를 이용해 제작한 로봇저널리즘(로봇기자)입니다.",
        "【本文由AI生成，经人工审核修改】",
        "📝 この記事は自動生成されたものです",
        "Bu haber otomatik olarak derlenmiştir.",
        "Esta síntesis fue elaborada automáticamente por el sistema editorial de Diario Imparcial a partir de 12 fuentes.",
        "Dieser Text wurde automatisch von einer KI erstellt und dient nur zur Orientierung.",
    ] {
        assert!(find_notice(line).is_some(), "{line}");
    }
}

proptest::proptest! {
    /// The ASCII fast paths give what the general ones give.
    #[test]
    fn ascii_fast_paths_agree_with_the_general_ones(s in "[ -~\t\n\r\x0b\x0c]{0,80}") {
        proptest::prop_assert_eq!(fold_ascii(&s), fold_any(&s));
        proptest::prop_assert_eq!(word_count_ascii(&s), word_count_any(&s));
    }
}
